/**
 * History state: the `state` the newest processed manifest carries (per
 * history table, a snapshot and the ingestion objects `since` it) edited by
 * hand before the next transform: an entry dropped, added for a run that
 * did not change the table, duplicated, or swapped with another file whose
 * SHA-256 it was given. The transform refuses, naming the manifest and the
 * entry, before it writes anything; restoring the files lets the rerun
 * converge.
 */
import { copyFileSync } from 'node:fs'
import { dataKey } from '../../src/lake/keys.js'
import { readManifest } from '../../src/lake/manifest.js'
import type { CaseContext, HostileCase } from './hostile-case.js'
import { keep, restore, rewriteManifest, runIds } from './lake-helpers.js'
import { stages } from './run-hostile-case.js'

type Json = Record<string, unknown>
type Entry = { key: string; runId: string; bytes: number; sha256: string }
type State = { tables: Record<string, { since: Entry[] }> }

const EDITED = (problem: string) => new RegExp(`^Manifest "_manifests/\\d+T\\d+Z\\.json" in file:\\S+ ${problem}\\. It was edited by hand\\. Restore it from a backup`)

/**
 * Transforms the pending run (so the newest processed manifest carries `since` lists with two
 * runs of "address"), then changes the source again and extracts: one run pending.
 */
async function twoRunsOfAddress(ctx: CaseContext): Promise<{ newest: string; runs: string[] }> {
  await stages.transform(ctx.pipeline)
  await ctx.pipeline.source("UPDATE address SET phone = '0000 333444', last_updated = '2024-11-19 09:10:00' WHERE address_id = 2")
  await stages.extract(ctx.pipeline)
  const processed = await runIds(ctx, 'processed')
  return { newest: processed.at(-1)!, runs: processed }
}

function editState(ctx: CaseContext, runId: string, change: (state: State) => void): void {
  rewriteManifest(ctx, 'processed', runId, (json: Json) => {
    const state = structuredClone(json.state) as State
    change(state)
    return { ...json, state }
  })
}

function historyCase(name: string, does: string, act: (ctx: CaseContext) => Promise<void>, problem: string): HostileCase {
  return {
    id: `manifest-history-${name}`,
    category: 'manifests',
    does: `${does} in the newest processed manifest's history state`,
    start: 'extracted',
    expect: 'refused',
    act,
    stage: 'transform',
    refusal: { message: EDITED(problem) },
    fix: restore,
  }
}

export const HISTORY_CASES: readonly HostileCase[] = [
  historyCase(
    'since-entry-dropped',
    'drops the oldest "address" entry of `since`',
    async (ctx) => {
      const { newest } = await twoRunsOfAddress(ctx)
      editState(ctx, newest, (state) => void state.tables.address!.since.shift())
    },
    'leaves out history object "address/[^"]+" of "address" \\(run \\d+T\\d+Z\\)',
  ),
  historyCase(
    'since-entry-added',
    'adds a "staff" entry for a run that did not change staff',
    async (ctx) => {
      const { newest } = await twoRunsOfAddress(ctx)
      editState(ctx, newest, (state) => {
        const address = state.tables.address!.since.at(-1)!
        state.tables.staff!.since.push({ ...address, key: dataKey('staff', address.runId, 'csv') })
      })
    },
    'lists history object "staff/[^"]+" of "staff" with a key, size, SHA-256 or columns that ingestion manifest "_manifests/\\d+T\\d+Z\\.json" did not publish',
  ),
  historyCase(
    'since-entry-repeated',
    'points the oldest "address" entry at the newest run\'s object too',
    async (ctx) => {
      const { newest } = await twoRunsOfAddress(ctx)
      editState(ctx, newest, (state) => {
        const since = state.tables.address!.since
        since[0] = { ...since.at(-1)! }
      })
    },
    'lists history object "address/[^"]+" of "address" out of order \\(not after run \\d+T\\d+Z\\)',
  ),
  historyCase(
    'since-entry-swapped-file',
    'swaps the oldest "address" object for the newest one and gives its entry that file\'s size and SHA-256',
    async (ctx) => {
      const { newest } = await twoRunsOfAddress(ctx)
      const { manifest } = await readManifest(ctx.pipeline.ctx.processed, newest, 'transform')
      const [oldest, latest] = (manifest.state as unknown as State).tables.address!.since
      const target = ctx.file('ingestion', oldest!.key)
      keep(ctx, `ingestion:${oldest!.key}`, target)
      copyFileSync(ctx.file('ingestion', latest!.key), target)
      editState(ctx, newest, (state) => {
        const since = state.tables.address!.since
        since[0] = { ...since[0]!, bytes: latest!.bytes, sha256: latest!.sha256 }
      })
    },
    'lists history object "address/[^"]+" of "address" with a key, size, SHA-256 or columns that ingestion manifest "_manifests/\\d+T\\d+Z\\.json" did not publish',
  ),
]
