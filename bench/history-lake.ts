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
 *
 * Runs are spread CYCLE_MS apart and end a cycle before now, as a lake's
 * history is: so the lake's one real run (the first full run, made just
 * now) is moved back in time first, with its objects, reconciliation
 * baselines and ledger rows.
 */
import { createHash } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { newRunId, runIdInstant } from '../src/core/run-id.js'
import { dataKey, manifestKey } from '../src/lake/keys.js'
import { listRunIds, readManifest, writeManifest, type StoredManifest } from '../src/lake/manifest.js'
import type { ObjectStore } from '../src/lake/object-store.js'
import { qualify } from '../src/sql/quote.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../src/warehouse/warehouse.js'
import { withClient } from './psql-baseline.js'

/** The history table every added run changes. */
const TABLE = 'address'
/** A 15-minute schedule. */
const CYCLE_MS = 15 * 60_000

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
  const ingestion = unsynced(options.ingestion)
  const processed = unsynced(options.processed)
  const ingestedIds = await listRunIds(options.ingestion)
  const processedIds = await listRunIds(options.processed)
  if (ingestedIds.length !== 1 || processedIds.join() !== ingestedIds.join()) throw new Error('growLake needs a lake with exactly one run, transformed (run one cycle first)')
  const first = newRunId(new Date(Date.now() - (options.runs + 1) * CYCLE_MS))
  let { ingestionTip, processedTip } = await moveRun(options, ingestedIds[0]!, first)
  const body = await oneRowOf(options.ingestion, [first])
  const columns = ingestionTip.manifest.sourceSchema?.[TABLE]
  if (columns === undefined) throw new Error(`the lake's newest manifest has no columns for ${TABLE}`)
  const ledger: { runId: string; sha256: string }[] = []
  let runId = first
  for (let n = 1; n <= options.runs; n++) {
    runId = newRunId(new Date(runIdInstant(first) + n * CYCLE_MS))
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

/** Moves the lake's one run (objects, reconciliation and late-row summaries, manifests, ledger rows) to run id `to`. */
async function moveRun(options: GrowOptions, from: string, to: string): Promise<{ ingestionTip: StoredManifest; processedTip: StoredManifest }> {
  // <table>/<YYYY>/<MM>/<DD>/<run>.<ext> (data, quarantine) or _reconcile/<table>/<run>.csv.
  const rekey = (key: string): string => {
    const parts = key.split('/')
    const ext = parts.pop()!.slice(from.length)
    const dirs = parts[0] === '_reconcile' ? parts : [...parts.slice(0, -3), to.slice(0, 4), to.slice(4, 6), to.slice(6, 8)]
    return [...dirs, `${to}${ext}`].join('/')
  }
  const copy = async (store: ObjectStore, key: string) => {
    const info = await store.put(rekey(key), await store.getBytes(key))
    await store.delete(key)
    return info
  }
  const ingested = (await readManifest(options.ingestion, from, 'extract')).manifest
  for (const table of ingested.tables) await copy(options.ingestion, table.key)
  for (const key of Object.values(ingested.reconciliation?.hashes ?? {})) await copy(options.ingestion, key)
  for (const summary of Object.values(ingested.lateRows?.summaries ?? {})) await copy(options.ingestion, summary.key)
  // The late-row summaries move with their run; `at` stays, so the next check falls due as it would have.
  const lateRows = ingested.lateRows && {
    ...ingested.lateRows,
    runId: to,
    summaries: Object.fromEntries(Object.entries(ingested.lateRows.summaries).map(([t, s]) => [t, { ...s, key: rekey(s.key) }])),
  }
  const ingestionTip = await writeManifest(
    options.ingestion,
    {
      ...ingested,
      runId: to,
      tables: ingested.tables.map((t) => ({ ...t, key: rekey(t.key) })),
      ...(ingested.reconciliation ? { reconciliation: { ...ingested.reconciliation, hashes: Object.fromEntries(Object.entries(ingested.reconciliation.hashes).map(([t, k]) => [t, rekey(k)])) } } : {}),
      ...(lateRows ? { lateRows } : {}),
    },
    undefined,
  )
  const built = (await readManifest(options.processed, from, 'transform')).manifest
  for (const table of built.tables) await copy(options.processed, table.key)
  for (const bad of built.quarantine ?? []) await copy(options.processed, bad.key)
  const state = built.state && {
    covers: { runId: to, manifestSha256: ingestionTip.sha256 },
    columns: built.state.columns,
    tables: Object.fromEntries(Object.entries(built.state.tables).map(([t, h]) => [t, { since: h.since.map((f) => ({ ...f, runId: to, key: rekey(f.key) })) }])),
  }
  const processedTip = await writeManifest(
    options.processed,
    { ...built, runId: to, input: { runId: to, manifestSha256: ingestionTip.sha256 }, tables: built.tables.map((t) => ({ ...t, key: rekey(t.key) })),
      ...(built.quarantine ? { quarantine: built.quarantine.map((q) => ({ ...q, key: rekey(q.key), sourceKey: rekey(q.sourceKey) })) } : {}),
      ...(state ? { state } : {}),
    },
    undefined,
  )
  await options.ingestion.delete(manifestKey(from))
  await options.processed.delete(manifestKey(from))
  await withClient(options.warehouseUrl, async (client) => {
    const loads = qualify(options.warehouseSchema, LEDGER_TABLE)
    const tables = qualify(options.warehouseSchema, LEDGER_TABLES_TABLE)
    await client.query('BEGIN')
    await client.query(`INSERT INTO ${loads} (run_id, dataset, manifest_sha256, rows, status, loaded_at) SELECT $2, dataset, $3, rows, status, loaded_at FROM ${loads} WHERE run_id = $1`, [from, to, processedTip.sha256])
    await client.query(`UPDATE ${tables} SET run_id = $2 WHERE run_id = $1`, [from, to])
    await client.query(`DELETE FROM ${loads} WHERE run_id = $1`, [from])
    await client.query('COMMIT')
  })
  return { ingestionTip, processedTip }
}

/**
 * The store's own objects, written without the fsync every put pays (the
 * bench writes thousands; the machine does not crash meanwhile). Reads go
 * to the store itself.
 */
function unsynced(store: ObjectStore): ObjectStore {
  const dir = fileURLToPath(store.root)
  const put: ObjectStore['put'] = async (key, body) => {
    const bytes = Buffer.from(body as string | Uint8Array)
    const path = join(dir, ...key.split('/'))
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, bytes, { flag: 'wx' })
    return { key, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') }
  }
  return Object.assign(Object.create(null) as object, {
    root: store.root,
    put,
    getBytes: (key: string) => store.getBytes(key),
    localPath: (key: string, scratch: string) => store.localPath(key, scratch),
    list: (prefix: string) => store.list(prefix),
  }) as ObjectStore
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
