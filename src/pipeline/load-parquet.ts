/**
 * The Parquet loader's stage: load a spec's Parquet prefixes into a
 * warehouse schema. Every file of every table is listed and checked first;
 * only then does the warehouse change, in one transaction (create the schema
 * and missing tables, then truncate-and-copy, append, or merge each table).
 * A table whose file set is exactly the one it last loaded is skipped, so
 * a repeated event loads nothing twice.
 *
 * The CLI and the Lambda handler both call `loadParquet`, and answer with
 * `loaderAnswer`'s `{statusCode, body}`.
 */
import { makeScratchDir, removeDeadScratchDirs, removeScratchDir } from '../core/scratch-space.js'
import { tmpdir } from 'node:os'
import { messageOf, StarlineError } from '../core/starline-error.js'
import type { ObjectStore } from '../lake/object-store.js'
import { LoaderDataError, LoaderSpecError } from '../loader/errors.js'
import type { LoaderSpec, LoaderTable } from '../loader/loader-spec.js'
import { openParquetInspector } from '../loader/parquet-files.js'
import type { Logger } from '../observe/logger.js'
import type { LoadMode } from '../schema/parquet-table.js'
import { LoaderLedgerChangedError } from '../warehouse/errors.js'
import { parseLedgerFiles, type LastLoad, type TableLoad, type TableLoadResult, type TableLoads, type TableLoadsCapabilities } from '../warehouse/table-loads.js'

export interface LoadParquetOptions {
  readonly spec: LoaderSpec
  readonly tableLoads: TableLoads
  /** Opens the object store rooted at a table's prefix URL. */
  readonly openStore: (prefixUrl: string) => ObjectStore
  /** Load only these tables (an S3 event for one table's prefix); default all. */
  readonly tables?: readonly string[]
  /** Load even tables whose file set is unchanged since their last load. */
  readonly force?: boolean
  /** Scratch space: downloaded files, DuckDB spill. Default the OS temp dir. */
  readonly scratchDir?: string
  readonly duckdbMemory?: string
  readonly logger?: Logger
}

export interface LoadedParquetTable {
  readonly name: string
  readonly mode: LoadMode
  /** Rows loaded in this run (0 when skipped). */
  readonly rows: number
  /** The table was created by this run. */
  readonly created: boolean
  /** Nothing new to load: the files are those of its last load (or, for an append, all appended before). */
  readonly skipped: boolean
  /** Parquet files loaded (an append: the new ones), or found when skipped. */
  readonly files: number
}

export interface LoadParquetSummary {
  readonly schema: string
  readonly tables: readonly LoadedParquetTable[]
}

export async function loadParquet(options: LoadParquetOptions): Promise<LoadParquetSummary> {
  const { spec } = options
  const selected = options.tables ? spec.tables.filter((t) => options.tables!.includes(t.name)) : spec.tables
  const unknown = (options.tables ?? []).filter((name) => !spec.tables.some((t) => t.name === name))
  if (unknown.length > 0) {
    throw new LoaderSpecError(`The loader spec has no table ${unknown.map((u) => `"${u}"`).join(', ')}. Check the table names.`)
  }
  assertNamesFit(spec.schema, selected, options.tableLoads.capabilities.maxIdentifierBytes)
  assertEngineTakes(spec.schema, selected, options.tableLoads.capabilities)
  const scratchRoot = options.scratchDir ?? tmpdir()
  await removeDeadScratchDirs(scratchRoot)
  const dir = await makeScratchDir(scratchRoot, 'starline-parquet')
  const inspector = await openParquetInspector({ scratchDir: dir, ...(options.duckdbMemory ? { memoryLimit: options.duckdbMemory } : {}) })
  try {
    // Check everything before anything changes: a bad file in the last table must not leave the first one loaded.
    const inspected: TableLoad[] = []
    for (const table of selected) {
      const load = await inspector.inspect(table, options.openStore(table.prefix), options.tableLoads.capabilities)
      options.logger?.info('parquet files checked', { table: table.name, files: load.files.length, rows: load.rows })
      inspected.push(load)
    }
    let toLoad: TableLoad[] = []
    let results: readonly TableLoadResult[] = []
    for (let attempt = 1; ; attempt++) {
      toLoad = options.force ? inspected : planLoads(inspected, await options.tableLoads.lastLoads(spec.schema))
      try {
        results = toLoad.length > 0 ? await options.tableLoads.load(spec.schema, toLoad) : []
        break
      } catch (error) {
        // An overlapping load committed between our plan and our lock: plan again from its ledger row.
        if (!(error instanceof LoaderLedgerChangedError) || attempt >= MAX_PLANS) throw error
        options.logger?.info('parquet load replanned: another load changed the ledger', { schema: spec.schema, attempt })
      }
    }
    const tables = inspected.map((t): LoadedParquetTable => {
      const result = results.find((r) => r.table === t.name)
      const files = toLoad.find((l) => l.name === t.name)?.files.length ?? t.files.length
      return { name: t.name, mode: t.mode, rows: result?.rows ?? 0, created: result?.created ?? false, skipped: !result, files }
    })
    options.logger?.info('parquet load finished', { schema: spec.schema, tables })
    return { schema: spec.schema, tables }
  } finally {
    inspector.close()
    await removeScratchDir(dir)
  }
}

/** How often a load is planned again when overlapping loads keep changing the ledger under it. */
const MAX_PLANS = 3

/**
 * The tables to load given the ledger: unchanged ones skipped, appends cut
 * to their new files. Each load carries the ledger row it was planned from,
 * which the engine checks again under its lock.
 */
function planLoads(inspected: readonly TableLoad[], last: ReadonlyMap<string, LastLoad>): TableLoad[] {
  const toLoad: TableLoad[] = []
  for (const table of inspected) {
    const previous = last.get(table.name)
    if (previous?.fingerprint === table.fingerprint) continue
    const load = table.mode === 'append' && previous ? onlyNewFiles(table, previous) : table
    if (load) toLoad.push({ ...load, basis: previous?.fingerprint ?? null })
  }
  return toLoad
}

/**
 * An append loads only the files it has not appended before (by URL; a
 * file changed since is refused), so a producer adding a part file to a prefix adds only its rows.
 * Undefined when nothing is new.
 */
function onlyNewFiles(table: TableLoad, previous: LastLoad): TableLoad | undefined {
  const recorded = parseLedgerFiles(previous.files)
  if (!recorded) {
    throw new LoaderDataError(
      `Table "${table.name}": the ledger does not list the files appended before, so an append could load some twice. ` +
        'Load the table once with mode truncate (or --force), then append again.',
      { context: { table: table.name } },
    )
  }
  const fresh = table.files.filter((f) => !recorded.some((r) => r.url === f.url))
  const changed = table.files.find((f) => recorded.some((r) => r.url === f.url && r.sha256 !== f.sha256))
  if (changed) {
    throw new LoaderDataError(
      `Table "${table.name}": ${changed.url} changed since it was appended, and appending it again would duplicate its old rows. ` +
        'Write changed data as a new file, or load the table with mode truncate or merge; nothing was loaded.',
      { context: { table: table.name, file: changed.url } },
    )
  }
  if (fresh.length === 0) return undefined
  return { ...table, files: fresh, rows: fresh.reduce((sum, f) => sum + f.rows, 0), recorded: [...recorded, ...fresh] }
}

/** What the CLI (with --json) and the Lambda handler answer. */
export interface LoaderAnswer {
  readonly statusCode: number
  /** A JSON string: the summary, or `{error, retryable}`. */
  readonly body: string
}

/**
 * Runs `work` and turns its outcome into `{statusCode, body}`: 200 with the
 * summary; 400 for a terminal failure (bad spec or data: retrying changes
 * nothing); 503 for a retryable one (the warehouse or store unreachable).
 */
export async function loaderAnswer(work: () => Promise<LoadParquetSummary>): Promise<LoaderAnswer> {
  try {
    const summary = await work()
    return { statusCode: 200, body: JSON.stringify(summary) }
  } catch (error) {
    const retryable = error instanceof StarlineError ? error.retryable : false
    const statusCode = error instanceof StarlineError ? (retryable ? 503 : 400) : 500
    return { statusCode, body: JSON.stringify({ error: messageOf(error).replace(/\s*\n\s*/g, ' '), retryable }) }
  }
}

/** Names the engine would cut short are refused before anything loads (two could become one table). */
/** What the engine cannot take, refused before any file is read: names it would fold, prefixes it cannot read from. */
function assertEngineTakes(schema: string, tables: readonly LoaderTable[], capabilities: TableLoadsCapabilities): void {
  if (capabilities.foldsNamesToLowerCase) {
    const names = [`schema "${schema}"`, ...tables.flatMap((t) => [`table "${t.name}"`, ...t.columns.map((c) => `column "${t.name}"."${c.name}"`)])]
    const values = [schema, ...tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name)])]
    const mixed = names.filter((_, i) => values[i] !== values[i]!.toLowerCase())
    if (mixed.length > 0) {
      throw new LoaderSpecError(
        `This warehouse folds names to lower case (Redshift, unless enable_case_sensitive_identifier is on), and the spec's ${mixed.join(', ')} ` +
          `${mixed.length === 1 ? 'has' : 'have'} upper-case letters: write ${mixed.length === 1 ? 'it' : 'them'} in lower case in the spec, so the table is the one queries name.`,
      )
    }
  }
  const schemes = capabilities.prefixSchemes
  if (schemes !== undefined) {
    const elsewhere = tables.filter((t) => !schemes.some((scheme) => t.prefix.startsWith(scheme)))
    if (elsewhere.length > 0) {
      throw new LoaderSpecError(
        `This warehouse reads the files itself, only from ${schemes.join(' or ')} prefixes, and ${elsewhere.map((t) => `table "${t.name}" has prefix "${t.prefix}"`).join(', ')}: ` +
          `put the files in S3 and give an ${schemes[0]} prefix in the spec.`,
      )
    }
  }
}

function assertNamesFit(schema: string, tables: readonly LoaderTable[], maxBytes: number): void {
  const names = [`schema "${schema}"`, ...tables.flatMap((t) => [`table "${t.name}"`, ...t.columns.map((c) => `column "${t.name}"."${c.name}"`)])]
  const values = [schema, ...tables.flatMap((t) => [t.name, ...t.columns.map((c) => c.name)])]
  const long = names.filter((_, i) => Buffer.byteLength(values[i]!, 'utf8') > maxBytes)
  if (long.length > 0) {
    throw new LoaderSpecError(
      `The warehouse keeps names of at most ${maxBytes} bytes, and the spec's ${long.join(', ')} ${long.length === 1 ? 'is' : 'are'} longer: ` +
        'shorten them in the spec (the engine would cut them, and two names could become one).',
    )
  }
}
