import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { checkManifest } from '../../../src/lake/integrity.js'
import { rangeSummaryKey } from '../../../src/lake/keys.js'
import type { LateRowsState, RunManifest } from '../../../src/lake/manifest.js'
import { isLateRowsCheckDue } from '../../../src/pipeline/late-rows.js'
import { changedRanges, confirmedKeys, formatSummaries, parseSummaries } from '../../../src/source/late-rows.js'

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

describe('candidates of a source that cannot place every writer exactly', () => {
  const stored = new Map([
    [0, { range: 0, rows: 1024, hash: '9223372036854775807' }],
    [1, { range: 1, rows: 500, hash: '-5' }],
  ])

  it('are confirmed in a range whose change they explain exactly', () => {
    // Range 0 gained the two candidates (hashes 10 and -3), nothing else: now 1026 rows, hash +7.
    const compared = [
      { range: 0, rows: 1026, hash: '9223372036854775814' },
      { range: 1, rows: 500, hash: '-5' },
    ]
    const candidates = { keys: ['7', '9'], rowsRead: 1026, exact: false, ranges: [{ range: 0, rows: 2, hash: '7', keys: ['7', '9'] }] }
    assert.deepEqual(confirmedKeys(stored, compared, candidates), ['7', '9'])
  })

  it('are not confirmed where rows also left the range, or where one of them is an old version', () => {
    // Range 1: one candidate came (hash 4) and one old version left (hash 9): the sums do not close.
    const compared = [{ range: 1, rows: 500, hash: '-10' }]
    const candidates = { keys: ['600'], rowsRead: 500, exact: false, ranges: [{ range: 1, rows: 1, hash: '4', keys: ['600'] }] }
    assert.deepEqual(confirmedKeys(stored, compared, candidates), [])
    // Range 0 unchanged but for one real late row (hash 10); an old row (hash 3) misplaced as a candidate too.
    const misplaced = { keys: ['5', '8'], rowsRead: 1025, exact: false, ranges: [{ range: 0, rows: 2, hash: '13', keys: ['5', '8'] }] }
    assert.deepEqual(confirmedKeys(stored, [{ range: 0, rows: 1025, hash: '9223372036854775817' }], misplaced), [])
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
