import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger, logFormatFor } from '../../../src/observe/logger.js'

describe('createLogger', () => {
  it('writes one JSON object per line by default', () => {
    const lines: string[] = []
    createLogger({ write: (l) => lines.push(l) }).child({ runId: 'r1' }).info('load run committed', { rows: 5 })
    const entry = JSON.parse(lines[0]!)
    assert.deepEqual([entry.level, entry.message, entry.runId, entry.rows], ['info', 'load run committed', 'r1', 5])
    assert.ok(lines[0]!.endsWith('}\n'))
  })

  it('writes a short human line in text format, quoting values with spaces', () => {
    const lines: string[] = []
    createLogger({ format: 'text', write: (l) => lines.push(l) }).warn('cycle failed', { cycle: 3, error: new Error('no route'), table: 'fact sales' })
    assert.match(lines[0]!, /^\d{2}:\d{2}:\d{2}\.\d{3} WARN {2}cycle failed cycle=3 error=\{"name":"Error","message":"no route"\} table="fact sales"\n$/)
  })

  it('drops lines below the level', () => {
    const lines: string[] = []
    const logger = createLogger({ level: 'warn', format: 'text', write: (l) => lines.push(l) })
    logger.info('quiet')
    logger.error('loud')
    assert.equal(lines.length, 1)
  })

  it('chooses text on a terminal and JSON lines anywhere else', () => {
    assert.equal(logFormatFor({ isTTY: true }), 'text')
    assert.equal(logFormatFor({ isTTY: false }), 'json')
    assert.equal(logFormatFor({}), 'json')
  })
})
