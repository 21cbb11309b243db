/**
 * The COPY-out parser takes the payload of every CopyData message and
 * nothing else, wherever the socket cuts the messages, and hands what
 * follows the data back to the driver.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { CopyDataParser, isErrorResponse } from '../../../src/engines/postgres/copy-data-parser.js'

function message(code: string, body: Buffer | string = Buffer.alloc(0)): Buffer {
  const payload = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const header = Buffer.alloc(5)
  header.write(code, 0, 'latin1')
  header.writeUInt32BE(payload.length + 4, 1)
  return Buffer.concat([header, payload])
}

const ROWS = ['id,name\n', '1,"a, b"\n', '2,\n', '3,"ünïcödé €"\n', '4,""\n']
const AFTER = Buffer.concat([message('C', 'COPY 4\0'), message('Z', 'T')])
const WIRE = Buffer.concat([
  message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])),
  ...ROWS.slice(0, 2).map((row) => message('d', row)),
  message('N', 'a notice\0'),
  ...ROWS.slice(2).map((row) => message('d', row)),
  message('c'),
  AFTER,
])

/** Feeds `wire` cut at `cuts` and returns the data and what was handed back. */
function feed(wire: Buffer, cuts: readonly number[]): { data: string; rest: Buffer | undefined } {
  const parser = new CopyDataParser()
  const data: Buffer[] = []
  let rest: Buffer | undefined
  let from = 0
  for (const to of [...cuts, wire.length]) {
    if (rest !== undefined) break
    const parsed = parser.parse(wire.subarray(from, to))
    data.push(parsed.data)
    rest = parsed.rest
    from = to
  }
  // What the socket delivered after the chunk that ended the COPY also belongs to the driver.
  if (rest !== undefined && from < wire.length) rest = Buffer.concat([rest, wire.subarray(from)])
  return { data: Buffer.concat(data).toString('utf8'), rest }
}

describe('CopyDataParser', () => {
  it('returns the rows byte for byte and hands back what follows CopyDone, wherever the chunks are cut', () => {
    for (let a = 1; a < WIRE.length; a++) {
      for (const b of [a + 1, a + 3, a + 7, WIRE.length]) {
        const cuts = b < WIRE.length ? [a, b] : [a]
        const { data, rest } = feed(WIRE, cuts)
        assert.equal(data, ROWS.join(''), `cut at ${cuts.join(', ')}`)
        assert.deepEqual(rest, AFTER, `cut at ${cuts.join(', ')}`)
      }
    }
  })

  it('parses one chunk holding everything', () => {
    assert.deepEqual(feed(WIRE, []), { data: ROWS.join(''), rest: AFTER })
  })

  it('stops at an ErrorResponse and hands it back unread, with the rows before it', () => {
    const error = Buffer.concat([message('E', 'SERROR\0C57014\0Mcanceling statement\0\0'), message('Z', 'E')])
    const wire = Buffer.concat([message('d', ROWS[0]!), error])
    for (let cut = 1; cut < wire.length; cut++) {
      const { data, rest } = feed(wire, [cut])
      assert.equal(data, ROWS[0])
      assert.deepEqual(rest, error)
      assert.ok(isErrorResponse(rest!))
    }
  })

  it('refuses bytes after the end', () => {
    const parser = new CopyDataParser()
    parser.parse(message('c'))
    assert.ok(parser.ended)
    assert.throws(() => parser.parse(Buffer.from('x')), /after the end/)
  })
})
