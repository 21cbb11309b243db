import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkManifest } from '../../../src/lake/integrity.js'
import { rangeSummaryKey } from '../../../src/lake/keys.js'
import type { LateRowsState, RunManifest } from '../../../src/lake/manifest.js'
import { isLateRowsCheckDue } from '../../../src/pipeline/late-rows.js'
import { changedRanges, formatSummaries, parseSummaries } from '../../../src/source/late-rows.js'

const RANGES = [
  { range: -1, rows: 3, hash: '-922337203685477580812' },
  { range: 0, rows: 1024, hash: '18446744073709551615' },
  { range: 7, rows: 12, hash: '0' },
]

describe('id range summaries', () => {
  it('read back exactly what was written, negative ranges and 20-digit hashes included', () => {
    const parsed = parseSummaries(formatSummaries(RANGES))
    assert.deepEqual([...parsed!.values()], RANGES)
  })

  it('are refused (undefined) when a line was edited', () => {
    assert.equal(parseSummaries('0,12,34\n1,2.5,7\n'), undefined)
    assert.equal(parseSummaries('0,12\n'), undefined)
  })

  it('differ where a count or a hash changed, or where only one side has the range', () => {
    const stored = new Map(RANGES.map((s) => [s.range, s]))
    const current = [
      { range: -1, rows: 3, hash: '-922337203685477580812' },
      { range: 0, rows: 1024, hash: '18446744073709551614' },
      { range: 8, rows: 1, hash: '5' },
    ]
    assert.deepEqual(changedRanges(stored, current), [0, 7, 8])
    assert.deepEqual(changedRanges(stored, RANGES), [])
  })
})

describe('the late-row check', () => {
  const state = (at: string): LateRowsState => ({
    at,
    runId: '20241119T000000000Z',
    settledUpTo: '2024-11-18 18:59:59.000',
    sourceSnapshot: '100:100:',
    rangeWidth: 1024,
    summaries: { sales_order: { key: rangeSummaryKey('sales_order', '20241119T000000000Z'), sha256: '0'.repeat(64) } },
  })

  it('is due on the first run and when the interval has passed, never when off', () => {
    assert.equal(isLateRowsCheckDue(undefined, 3_600_000), true)
    assert.equal(isLateRowsCheckDue(state(new Date().toISOString()), 3_600_000), false)
    assert.equal(isLateRowsCheckDue(state(new Date(Date.now() - 3_600_001).toISOString()), 3_600_000), true)
    assert.equal(isLateRowsCheckDue(undefined, undefined), false)
  })

  it('refuses a manifest listing summaries that no run up to it wrote', () => {
    const manifest = (lateRows: LateRowsState): RunManifest => ({
      formatVersion: 1,
      runId: '20241120T000000000Z',
      stage: 'extract',
      dataset: 'totesys',
      createdAt: '2024-11-20T00:00:00.000Z',
      tables: [],
      lateRows,
    })
    const ok = manifest(state('2024-11-19T00:00:00.000Z'))
    checkManifest(ok, '_manifests/20241120T000000000Z.json', ok.runId, 'extract', 'file:///lake')
    const later = { ...state('2024-11-19T00:00:00.000Z'), runId: '20241121T000000000Z', summaries: { sales_order: { key: rangeSummaryKey('sales_order', '20241121T000000000Z'), sha256: '0'.repeat(64) } } }
    assert.throws(() => checkManifest(manifest(later), '_manifests/20241120T000000000Z.json', ok.runId, 'extract', 'file:///lake'), /id range summaries/)
    const elsewhere = { ...state('2024-11-19T00:00:00.000Z'), summaries: { payment: { key: rangeSummaryKey('sales_order', '20241119T000000000Z'), sha256: '0'.repeat(64) } } }
    assert.throws(() => checkManifest(manifest(elsewhere), '_manifests/20241120T000000000Z.json', ok.runId, 'extract', 'file:///lake'), /id range summaries/)
  })
})
