import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createProgress } from '../../../src/observe/progress.js'

function fakeStream(isTTY: boolean) {
  const writes: string[] = []
  return { isTTY, writes, write: (text: string) => writes.push(text) }
}

describe('createProgress', () => {
  it('shows rows so far and the rate on a terminal, rewriting one line', () => {
    const stream = fakeStream(true)
    let now = 0
    const progress = createProgress(stream, { now: () => now, minIntervalMs: 0 })
    progress.add('extract', 'address', 0)
    now = 2000
    progress.add('extract', 'sales_order', 1_000_000)
    progress.done()
    assert.equal(stream.writes[1], '\r\x1b[Kextract: sales_order, 1,000,000 rows, 500,000 rows/s')
    assert.equal(stream.writes.at(-1), '\r\x1b[K', 'the line is cleared at the end')
  })

  it('starts counting again for the next stage', () => {
    const stream = fakeStream(true)
    let now = 0
    const progress = createProgress(stream, { now: () => now, minIntervalMs: 0 })
    progress.add('extract', 'a', 10)
    now = 1000
    progress.add('load', 'run 1', 7)
    assert.match(stream.writes.at(-1)!, /load: run 1, 7 rows/)
  })

  it('writes nothing off a terminal (logs, CI, pipes)', () => {
    const stream = fakeStream(false)
    const progress = createProgress(stream)
    progress.add('extract', 'sales_order', 5)
    progress.done()
    assert.deepEqual(stream.writes, [])
  })
})
