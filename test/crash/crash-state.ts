/**
 * What a pipeline holds after a run, in a form two pipelines can be compared
 * in: the lake (every file on disk, and every manifest's content) and the
 * warehouse (every table and view, row for row, and the ledger). Run ids and
 * times differ between two pipelines, so run ids become their ordinal in the
 * lake (`run#1`, `run#2`...), and creation times and manifest hashes (which
 * cover those times) are left out. Everything else must be equal.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { quoteIdent } from '../../src/sql/quote.js'
import type { CrashPipeline } from './crash-world.js'
import { query } from './crash-world.js'

const RUN_ID = /\d{8}T\d{9}Z/g
/** Data keys carry the run's date as folders: a clean run and a killed one may straddle midnight. */
const DATED_RUN = /\d{4}\/\d{2}\/\d{2}\/(\d{8}T\d{9}Z)/g

export interface PipelineState {
  /** Per lake zone, every file under it (normalised key), sorted. */
  readonly files: Record<string, string[]>
  /** Per lake zone, each manifest's normalised content, in run order. */
  readonly manifests: Record<string, string[]>
  /** Per warehouse table or view, its rows as text (normalised), sorted; `(schemas)` and `(constraints)` from the catalog. */
  readonly warehouse: Record<string, string[]>
}

/** Every file of a zone directory, relative, with `/` separators. */
function walk(dir: string, root = dir): string[] {
  let entries: string[]
  try {
    entries = readdirSync(dir)
  } catch {
    return []
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry)
    return statSync(path).isDirectory() ? walk(path, root) : [relative(root, path).split('\\').join('/')]
  })
}

/** The run ids of the ingestion zone, in order: their index names a run in both pipelines. */
function runOrdinals(lakeDir: string): Map<string, number> {
  const ids = walk(join(lakeDir, 'ingestion', '_manifests')).map((key) => key.replace(/\.json$/, '')).sort()
  return new Map(ids.map((id, index) => [id, index + 1]))
}

function normaliser(ordinals: ReadonlyMap<string, number>): (text: string) => string {
  const name = (id: string): string => `run#${ordinals.get(id) ?? '?'}`
  return (text) => text.replace(DATED_RUN, (_all, id: string) => name(id)).replace(RUN_ID, (id) => name(id))
}

/**
 * A manifest without what differs between equal runs: times, hashes of
 * manifests (which cover the times), and the bytes of Parquet files (DuckDB's
 * parallel writer orders row groups differently from run to run; their rows
 * are compared in the warehouse). Applied at any depth (tables, history state).
 */
function manifestContent(text: string, normalise: (text: string) => string): string {
  return normalise(JSON.stringify(scrub(JSON.parse(text))))
}

function scrub(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrub)
  if (value === null || typeof value !== 'object') return value
  const object = { ...(value as Record<string, unknown>) }
  // sourceSnapshot, sourceActivity: a txid snapshot and change counters of the source, which differ between two databases with equal rows.
  for (const field of ['createdAt', 'at', 'manifestSha256', 'sourceSnapshot', 'sourceActivity']) delete object[field]
  const parquet = object.format === 'parquet' || (typeof object.key === 'string' && object.key.endsWith('.parquet'))
  // A link to the previous manifest is its hash; a Parquet file's bytes differ between equal runs.
  if (parquet || 'runId' in object && Object.keys(object).length <= 2) {
    delete object.bytes
    delete object.sha256
  }
  return Object.fromEntries(Object.entries(object).map(([key, inner]) => [key, scrub(inner)]))
}

export async function pipelineState(pipeline: CrashPipeline): Promise<PipelineState> {
  const normalise = normaliser(runOrdinals(pipeline.lakeDir))
  const files: Record<string, string[]> = {}
  const manifests: Record<string, string[]> = {}
  for (const zone of ['ingestion', 'processed']) {
    const dir = join(pipeline.lakeDir, zone)
    const keys = walk(dir).sort()
    // Every file counts, hidden ones included: a lease write killed midway must leave nothing once the rerun is done.
    files[zone] = keys.map(normalise).sort()
    manifests[zone] = keys
      // Published manifests only: a stray temporary file shows up in `files` instead.
      .filter((key) => /^_manifests\/[^./][^/]*\.json$/.test(key))
      .map((key) => manifestContent(readFileSync(join(dir, key), 'utf8'), normalise))
  }
  return { files, manifests, warehouse: await warehouseRows(pipeline.warehouseUrl, normalise) }
}

/** Ledger rows without run ids, times or manifest hashes, in run order. */
const LEDGER_QUERIES: Record<string, string> = {
  _starline_loads: 'SELECT (dataset, rows, status)::text AS r FROM _starline_loads ORDER BY run_id',
  _starline_load_tables: 'SELECT (run_id, table_name, rows, inserted, updated, held)::text AS r FROM _starline_load_tables ORDER BY run_id, table_name',
}

async function warehouseRows(url: string, normalise: (text: string) => string): Promise<Record<string, string[]>> {
  const relations = await query<{ name: string }>(
    url,
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
  )
  const rows: Record<string, string[]> = {
    // A first load killed midway leaves a side schema behind, which the rerun must have removed.
    '(schemas)': (await query<{ r: string }>(url, "SELECT nspname AS r FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema' ORDER BY 1")).map((row) => row.r),
    // Keys as the load leaves them (a first load swaps in tables built on other connections): definitions, and validated or not.
    '(constraints)': (
      await query<{ r: string }>(
        url,
        "SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' validated=' || convalidated AS r FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1",
      )
    ).map((row) => row.r),
  }
  for (const { name } of relations) {
    const ledger = LEDGER_QUERIES[name]
    const result = await query<{ r: string }>(url, ledger ?? `SELECT t::text AS r FROM public.${quoteIdent(name)} t`)
    const texts = result.map((row) => normalise(row.r))
    rows[name] = ledger ? texts : texts.sort()
  }
  return rows
}

/** Rows the clean warehouse has that `actual` lacks (lost) and rows `actual` has beyond it (doubled), over data tables. */
export function rowDifference(clean: PipelineState, actual: PipelineState): { lost: number; doubled: number } {
  let lost = 0
  let doubled = 0
  const names = new Set([...Object.keys(clean.warehouse), ...Object.keys(actual.warehouse)])
  for (const name of names) {
    // The ledger, views of the facts, and the catalog entries (schemas, constraints).
    if (name.startsWith('_starline_load') || name.endsWith('_current') || name.startsWith('(')) continue
    const counts = new Map<string, number>()
    for (const row of clean.warehouse[name] ?? []) counts.set(row, (counts.get(row) ?? 0) + 1)
    for (const row of actual.warehouse[name] ?? []) counts.set(row, (counts.get(row) ?? 0) - 1)
    for (const n of counts.values()) {
      if (n > 0) lost += n
      else doubled -= n
    }
  }
  return { lost, doubled }
}
