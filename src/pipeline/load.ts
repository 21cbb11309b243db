/**
 * Load: every processed run the warehouse's ledger lacks is loaded, in run
 * order, each in one transaction with its ledger row (see Warehouse.loadRun).
 */
import { makeScratchDir, removeScratchDir } from '../core/scratch-space.js'
import { IntegrityError } from '../lake/errors.js'
import { checkChain, verifiedLocalPath } from '../lake/integrity.js'
import { listRunIds, listRunIdsFrom, readManifest } from '../lake/manifest.js'
import { objectUrlOf } from '../lake/object-store.js'
import { inDependencyOrder, type TableSpec } from '../schema/table-spec.js'
import type { LoadedRun, LoadedTable, LoadSummary } from '../schema/summaries.js'
import { WarehouseDriftError } from '../warehouse/drift.js'
import type { LedgerRow, LoadResult, Warehouse } from '../warehouse/warehouse.js'
import { removeDeadScratch, retryStep, type StageContext } from './context.js'
import { recordingFailure } from './failure.js'
import { PipelineError, StageAbortedError } from './errors.js'

export interface LoadOptions {
  readonly warehouse: Warehouse
  readonly schema: string
  /** How long each run waits for another load of the schema (LoadPlan.lockWaitMs); default the engine's. */
  readonly lockWaitMs?: number
  /**
   * The caller found no drift since anything could have changed the warehouse (runCycle checks at the
   * start of a cycle, and extract and transform never touch it): the load does not check again. Default false.
   */
  readonly driftChecked?: boolean
}

export async function load(ctx: StageContext, options: LoadOptions): Promise<LoadSummary> {
  // The processed zone keeps load failures: the warehouse may be the thing that is down.
  return recordingFailure(ctx, ctx.processed, 'load', () => loadPending(ctx, options))
}

async function loadPending(ctx: StageContext, options: LoadOptions): Promise<LoadSummary> {
  const started = Date.now()
  await removeDeadScratch(ctx)
  const specs = ctx.dataset.models.map((m) => m.table)
  // Before anything is created or written: a dropped table must not come back empty, deleted facts must not free their ids.
  if (!options.driftChecked) await assertNoDrift(ctx, options)
  await retryStep(ctx, 'create the warehouse tables', () => options.warehouse.ensureTables(options.schema, specs, options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }))
  // Runs are loaded in order: only the newest loaded one and those after it matter, so only it is read.
  const newest = await retryStep(ctx, 'read the ledger', () => options.warehouse.newestLoadedRun(options.schema))
  const ledger = newest === undefined ? [] : [newest]
  ctx.logger.debug('ledger read', { newest: newest?.runId })
  // What the warehouse remembers of the manifest it loaded last: the anchor of the processed zone's chain.
  const loadedSha = new Map(ledger.map((row) => [row.runId, row.manifestSha256]))
  const all = await listRunIdsFrom(ctx.processed, newest?.runId)
  await assertSameLake(ctx, ledger, all)
  const runs: LoadedRun[] = []
  // Whether each manifest read here links to its predecessor: one that does not, after one that does, was tampered with.
  const chained = new Map<string, boolean>()
  for (const [index, runId] of all.entries()) {
    if (loadedSha.has(runId)) continue
    if (ctx.signal?.aborted) throw new StageAbortedError('load', runs.map((r) => r.runId))
    const earlierId = all[index - 1]
    const earlier =
      earlierId === undefined
        ? undefined
        : { runId: earlierId, sha256: loadedSha.get(earlierId) ?? '', ...(chained.has(earlierId) ? { chained: chained.get(earlierId)! } : {}) }
    const run = await loadRun(ctx, options, runId, specs, earlier)
    loadedSha.set(runId, run.sha256)
    chained.set(runId, run.chained)
    runs.push(run.summary)
  }
  return { stage: 'load', runs, rows: runs.reduce((s, r) => s + r.rows, 0), durationMs: Date.now() - started }
}

/** Refuses a warehouse that drifted from its ledger (see warehouse/drift.ts): terminal, nothing written. */
export async function assertNoDrift(ctx: StageContext, options: Pick<LoadOptions, 'warehouse' | 'schema'>): Promise<void> {
  const specs = ctx.dataset.models.map((m) => m.table)
  const drift = await retryStep(ctx, 'check the warehouse against its ledger', () => options.warehouse.checkAgainstLedger(options.schema, specs))
  if (drift.length > 0) throw new WarehouseDriftError(options.schema, drift)
}

/**
 * The warehouse's newest loaded run must be in the processed zone, with the
 * manifest it loaded: otherwise the zone is not the lake that fed this
 * warehouse (a new or emptied lake, a typo in a lake URL, lost manifests),
 * and loading its runs would add every fact a second time.
 */
export async function assertSameLake(ctx: StageContext, ledger: readonly LedgerRow[], processedRunIds?: readonly string[]): Promise<void> {
  const newest = ledger.at(-1)
  if (newest === undefined) return
  const ids = processedRunIds ?? (await listRunIds(ctx.processed))
  const sha256 = ids.includes(newest.runId) ? (await readManifest(ctx.processed, newest.runId)).sha256 : undefined
  if (sha256 === newest.manifestSha256) return
  throw new IntegrityError(
    `The warehouse has loaded run ${newest.runId}, but ${ctx.processed.root} ` +
      (sha256 === undefined
        ? 'has no such run: this is not the lake that fed the warehouse (a new or emptied lake, or a lake URL that points elsewhere). '
        : 'holds a different manifest for it than the one loaded: the manifest was changed afterwards, or this is another lake. ') +
      'Nothing was extracted or loaded. Point STARLINE_INGESTION_URL and STARLINE_PROCESSED_URL at the lake this warehouse was loaded from, ' +
      'or load into an empty warehouse schema (STARLINE_WAREHOUSE_SCHEMA).',
    { context: { runId: newest.runId } },
  )
}

/** A run's tables as the ledger recorded them when it committed (engines without a per-table ledger: as answered). */
async function committedEarlier(ctx: StageContext, options: LoadOptions, result: LoadResult, facts: readonly TableSpec[]): Promise<LoadResult> {
  if (!options.warehouse.ledgerDetail) return result
  const detail = await retryStep(ctx, `read the ledger of run ${result.runId}`, () => options.warehouse.ledgerDetail!(options.schema, facts))
  const tables = detail.tables.filter((t) => t.runId === result.runId)
  ctx.logger.info('load run had committed before its answer was lost', { runId: result.runId })
  return { ...result, tables: tables.map((t) => ({ table: t.table, rows: t.rows, inserted: t.inserted, updated: t.updated, held: t.held })) }
}

async function loadRun(
  ctx: StageContext,
  options: LoadOptions,
  runId: string,
  specs: readonly TableSpec[],
  earlier: { readonly runId: string; readonly sha256: string; readonly chained?: boolean } | undefined,
): Promise<{ summary: LoadedRun; sha256: string; chained: boolean }> {
  const started = Date.now()
  const stored = await readManifest(ctx.processed, runId, 'transform')
  checkChain(stored, earlier, ctx.processed.root)
  const { manifest, sha256 } = stored
  const byName = new Map(manifest.tables.map((t) => [t.table, t]))
  const scratch = await makeScratchDir(ctx.scratchDir, `load-${runId}`)
  try {
    const tables = []
    // Parents before children: dimensions (and dim_date) before the facts that reference them.
    for (const spec of inDependencyOrder(specs)) {
      const entry = byName.get(spec.name)
      if (!entry) continue
      const objectUrl = objectUrlOf(ctx.processed, entry.key)
      // An engine that reads the store itself (Redshift's COPY FROM 's3://...') needs no download.
      const path = options.warehouse.capabilities.copyFromObjectStore ? undefined : await verifiedLocalPath(ctx.processed, entry, scratch)
      tables.push({
        spec,
        rows: entry.rows,
        key: entry.key,
        objectUrl,
        columns: entry.columns,
        bytes: entry.bytes,
        sha256: entry.sha256,
        ...(path === undefined ? {} : { path }),
        // Marked by the transform: the run re-read late rows, some may be versions already loaded (skipped, not refused).
        ...(entry.repeatsVersions === true && spec.kind === 'fact' ? { repeatsVersions: true } : {}),
        ...(entry.orderedBy !== undefined && spec.kind === 'fact' ? { orderedBy: entry.orderedBy } : {}),
      })
    }
    const unknown = manifest.tables.filter((t) => !specs.some((s) => s.name === t.table))
    if (unknown.length > 0) {
      throw new PipelineError(
        `Processed run ${runId} has tables this dataset does not define: ${unknown.map((t) => `"${t.table}"`).join(', ')}. ` +
          'It was written by another version or dataset; point STARLINE_PROCESSED_URL at the right zone.',
      )
    }
    const facts = specs.filter((spec) => spec.kind === 'fact')
    let shown = 0
    const onTableLoaded = (table: LoadedTable): void => {
      shown += table.rows
      // Inside the run's transaction: debug lines mark the boundaries the crash matrix kills at (test/crash/).
      ctx.logger.debug('loaded table', { runId, table: table.table, rows: table.rows })
      ctx.progress?.add('load', table.table, table.rows)
    }
    const plan = {
      schema: options.schema,
      dataset: ctx.dataset.name,
      runId,
      manifestSha256: sha256,
      tables,
      facts,
      onTableLoaded,
      onStep: (step: string) => ctx.logger.debug(step, { runId }),
      ...(options.lockWaitMs === undefined ? {} : { lockWaitMs: options.lockWaitMs }),
      // Engines that copy from the store themselves write what their COPY needs there.
      ...(options.warehouse.capabilities.copyFromObjectStore ? { store: ctx.processed } : {}),
    }
    // One transaction with its ledger row: repeating it after a transient failure loads it exactly once.
    ctx.logger.debug('loading run', { runId })
    let attempts = 0
    const loaded = await retryStep(ctx, `load run ${runId}`, () => {
      attempts++
      return options.warehouse.loadRun(plan)
    })
    // Found in the ledger on a retry: the attempt that failed committed, and only its answer was lost. Its rows are in the ledger.
    const result = loaded.status === 'already-loaded' && attempts > 1 ? await committedEarlier(ctx, options, loaded, facts) : loaded
    const rows = result.tables.reduce((s, t) => s + t.rows, 0)
    // Engines that do not report per table (and released held rows) show up here.
    if (rows > shown) ctx.progress?.add('load', `run ${runId}`, rows - shown)
    ctx.logger.info(result.status === 'loaded' ? 'load run committed' : 'load run was already in the ledger', { runId, rows })
    return { summary: { runId, tables: result.tables, rows, durationMs: Date.now() - started }, sha256, chained: manifest.previous !== undefined }
  } finally {
    await removeScratchDir(scratch)
  }
}
