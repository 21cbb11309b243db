/**
 * Gives a real lake (one that ran at least one cycle) many earlier runs,
 * quickly: not by running cycles, but by writing what a cycle that changed
 * one address would have written, with the lake's own code. Each added run
 * has an ingestion manifest listing one small `address` object (a row the
 * lake already holds, so the warehouse's content does not change), chained
 * to the one before; a processed manifest built from it (no star rows,
 * chained too); and a ledger row saying the warehouse loaded it. The added
 * processed manifests carry no history state, as in a lake written before
 * states existed: the next transform builds the first one from history.
 */
import { readFile } from 'node:fs/promises'
import { nextRunId } from '../src/core/run-id.js'
import { dataKey } from '../src/lake/keys.js'
import { listRunIds, readManifest, writeManifest, type StoredManifest } from '../src/lake/manifest.js'
import type { ObjectStore } from '../src/lake/object-store.js'
import { qualify } from '../src/sql/quote.js'
import { LEDGER_TABLE } from '../src/warehouse/warehouse.js'
import { withClient } from './psql-baseline.js'

/** The history table every added run changes. */
const TABLE = 'address'

export interface GrowOptions {
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  readonly warehouseUrl: string
  readonly warehouseSchema: string
  /** How many runs to add. */
  readonly runs: number
}

/** Adds `runs` runs after the lake's newest; returns the newest run id. */
export async function growLake(options: GrowOptions): Promise<string> {
  const { ingestion, processed } = options
  const ingestedIds = await listRunIds(ingestion)
  const processedIds = await listRunIds(processed)
  const last = ingestedIds.at(-1)
  if (last === undefined || processedIds.at(-1) !== last) throw new Error('growLake needs a lake whose every run was transformed (run one cycle first)')
  let ingestionTip: StoredManifest = await readManifest(ingestion, last, 'extract')
  let processedTip: StoredManifest = await readManifest(processed, last, 'transform')
  const body = await oneRowOf(ingestion, ingestedIds)
  const columns = ingestionTip.manifest.sourceSchema?.[TABLE]
  if (columns === undefined) throw new Error(`the lake's newest manifest has no columns for ${TABLE}`)
  const ledger: { runId: string; sha256: string }[] = []
  let runId = last
  for (let n = 0; n < options.runs; n++) {
    runId = nextRunId(runId, new Date(0))
    const key = dataKey(TABLE, runId, 'csv')
    const object = await ingestion.put(key, body)
    const { previous: _previous, silentEdits: _silentEdits, schemaChanges: _schemaChanges, ...earlier } = ingestionTip.manifest
    ingestionTip = await writeManifest(
      ingestion,
      { ...earlier, runId, createdAt: new Date().toISOString(), tables: [{ table: TABLE, key, format: 'csv', rows: 1, bytes: object.size, sha256: object.sha256, columns }] },
      ingestionTip,
    )
    processedTip = await writeManifest(
      processed,
      { formatVersion: 1, runId, stage: 'transform', dataset: processedTip.manifest.dataset, createdAt: new Date().toISOString(), input: { runId, manifestSha256: ingestionTip.sha256 }, tables: [] },
      processedTip,
    )
    ledger.push({ runId, sha256: processedTip.sha256 })
  }
  await withClient(options.warehouseUrl, async (client) => {
    const table = qualify(options.warehouseSchema, LEDGER_TABLE)
    for (let at = 0; at < ledger.length; at += 1000) {
      const batch = ledger.slice(at, at + 1000)
      const values = batch.map((_, i) => `($${i * 3 + 1}, $${i * 3 + 2}, $${i * 3 + 3}, 0, 'loaded')`).join(', ')
      await client.query(`INSERT INTO ${table} (run_id, dataset, manifest_sha256, rows, status) VALUES ${values}`, batch.flatMap((r) => [r.runId, processedTip.manifest.dataset, r.sha256]))
    }
  })
  return runId
}

/** The header and first row of the lake's first `address` object. */
async function oneRowOf(ingestion: ObjectStore, runIds: readonly string[]): Promise<string> {
  for (const runId of runIds) {
    const entry = (await readManifest(ingestion, runId, 'extract')).manifest.tables.find((t) => t.table === TABLE)
    if (entry === undefined) continue
    const text = (await readFile(await ingestion.localPath(entry.key, ''))).toString('utf8')
    const [header, row] = text.split('\n')
    return `${header}\n${row}\n`
  }
  throw new Error(`the lake holds no ${TABLE} object to copy`)
}
