/**
 * Extract: copy what changed in the source since the last run into the
 * ingestion zone, one CSV object per changed table, then the manifest.
 *
 * The window is `previous.to < last_updated <= to` (see readWindowEnd for how
 * `to` is chosen), so a row is taken by exactly one run even when many rows
 * share a timestamp at the boundary. All tables are read in one snapshot.
 * Before any data moves, the source's columns are compared with the lake's
 * (schema drift); periodically, small tables are reconciled by row hash to
 * catch edits that left the watermark alone, and the large tables are
 * checked by id range summaries for rows that appeared behind the watermark
 * (late-rows.ts).
 */
import { dataKey, manifestKey, rangeSummaryKey, reconcileKey } from '../lake/keys.js'
import { acquireLease } from '../lake/lease.js'
import {
  latestManifest,
  newestRunId,
  writeManifest,
  type ManifestColumn,
  type ManifestTable,
  type ReconciliationState,
  type RunManifest,
} from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import { nonEmptyCsv } from '../source/non-empty-csv.js'
import { parseHashes, reconcileTable, type ReconciledTable } from '../source/reconcile.js'
import type { Source, SourceSnapshot, WindowEnd } from '../source/source.js'
import { breakingChanges, compareSchemas, schemaDriftError } from '../source/schema-drift.js'
import { retryStep, type StageContext } from './context.js'
import { checkLateRows, isLateRowsCheckDue, lateRowsSummary, writeLateRowsState } from './late-rows.js'
import { mapInParallel } from './in-parallel.js'
import { messageOf } from '../core/starline-error.js'
import { recordingFailure } from './failure.js'
import { LeaseLostError, PipelineError, StageAbortedError } from './errors.js'
import { nextRunId } from '../core/run-id.js'
import type { ExtractSummary, ReconcileSummary } from '../schema/summaries.js'
import type { WatermarkRange } from '../schema/watermark.js'

export interface ExtractOptions {
  readonly source: Source
  /** Leave rows stamped within this many ms of the source's clock for the next run. */
  readonly lagMs: number
  /** Reconcile the dataset's small tables by row hash when this long has passed since the last time; undefined = never. */
  readonly reconcileIntervalMs?: number
  /** Check the large tables for rows that appeared behind the watermark when this long has passed since the last time; undefined = never. */
  readonly lateRowsIntervalMs?: number
  /** Carry on through removed or retyped source columns (the user has updated the models). */
  readonly acceptSchemaChange?: boolean
  /** A run known to be in the ingestion zone: only it and later manifests are listed. */
  readonly after?: string
}

export async function extract(ctx: StageContext, options: ExtractOptions): Promise<ExtractSummary> {
  return recordingFailure(ctx, ctx.ingestion, 'extract', () => extractOnce(ctx, options))
}

async function extractOnce(ctx: StageContext, options: ExtractOptions): Promise<ExtractSummary> {
  const started = Date.now()
  // Run ids must sort after every published run, even if this clock lags another runner's.
  const runId = nextRunId(await newestRunId(ctx.ingestion, options.after))
  const lease = await acquireLease(ctx.ingestion, 'extract', runId, { ttlMs: ctx.leaseTtlMs })
  // Debug lines mark the stage boundaries the crash matrix kills at (test/crash/).
  ctx.logger.debug('lease taken', { stage: 'extract', runId, replaced: lease.replaced?.runId })
  // Renewed while the stage works, so a run longer than STARLINE_LEASE_TTL is not taken over; release() stops it.
  lease.startRenewal({ onError: (error) => ctx.logger.warn('could not renew the extract lease; trying again', { error: messageOf(error) }) })
  const recoveredRunId = lease.replaced ? await removeUnpublishedRun(ctx, lease.replaced.runId) : undefined
  let snapshot: SourceSnapshot | undefined
  let seesAllSessions = true
  let lateRowsChecked: Pick<ExtractSummary, 'lateRows'> = {}
  const summary = (fields: Partial<ExtractSummary>): ExtractSummary => ({
    stage: 'extract',
    tables: [],
    rows: 0,
    schemaChanges: [],
    seesAllSessions,
    ...lateRowsChecked,
    ...fields,
    ...(recoveredRunId === undefined ? {} : { recoveredRunId }),
    durationMs: Date.now() - started,
  })
  // Until the run id is known to be new, its keys may be a committed run's: never clean them up.
  let ownsRunKeys = false
  try {
    const previousStored = await latestManifest(ctx.ingestion, 'extract', options.after)
    const previous = previousStored?.manifest
    if (previous && previous.runId >= runId) {
      throw new PipelineError(`Another extract run (${previous.runId}) committed while this one was starting. Run again.`, { retryable: true })
    }
    ownsRunKeys = true
    const tables = ctx.dataset.sourceTables
    const watch = tables.map((t) => t.name)
    snapshot = await retryStep(ctx, 'open the source snapshot', () => options.source.openSnapshot({ watch }))
    ctx.logger.debug('source snapshot opened', { runId })
    const { openTransactions } = snapshot
    seesAllSessions = openTransactions.seesAllSessions
    if (!openTransactions.seesAllSessions) {
      ctx.logger.warn(
        "the source user cannot see other users' transactions (grant it pg_read_all_stats): rows they commit later than STARLINE_EXTRACT_LAG after stamping could be missed",
      )
    }
    const columns = await snapshot.columns(watch)

    // Drift is judged before any data moves: a breaking change stops here.
    const schemaChanges = compareSchemas(previous?.sourceSchema ?? {}, columns)
    const breaking = breakingChanges(schemaChanges)
    if (breaking.length > 0 && !options.acceptSchemaChange) throw schemaDriftError(breaking, previous!.runId)
    if (schemaChanges.length > 0) ctx.logger.warn('the source schema changed', { changes: schemaChanges })

    const activity = snapshot.activity
    // Nothing written since a run whose window took every row: its window end stands, and no table is read for it.
    const unchanged = previous?.sourceActivity !== undefined && activity?.quiet === true && activity.mark === previous.sourceActivity
    if (unchanged) ctx.logger.debug('the source is unchanged since the last run; its window end stands', { runId, since: previous!.runId })
    const end: WindowEnd = unchanged ? { to: previous!.watermark?.to ?? null, caughtUp: true } : await snapshot.windowEnd(tables, options.lagMs)
    const heldBack = {
      ...(end.heldBackByTransactionMs === undefined ? {} : { heldBackByTransactionMs: end.heldBackByTransactionMs }),
      ...(end.stampedInFuture === undefined ? {} : { stampedInFuture: end.stampedInFuture }),
    }
    if (end.stampedInFuture !== undefined) {
      ctx.logger.warn('rows are stamped later than the source clock; they wait until their time comes', { tables: end.stampedInFuture })
    }
    if (end.heldBackByTransactionMs !== undefined) {
      ctx.logger.warn('an open source transaction holds the extract window back', { ageMs: end.heldBackByTransactionMs })
    }
    const from = previous?.watermark?.to ?? null
    const to = end.to === null || (from !== null && end.to < from) ? from : end.to
    const window: WatermarkRange | undefined = to === null ? undefined : { column: 'last_updated', from, to }
    const windowIsEmpty = to === null || to === from

    const reconciled = isReconcileDue(previous?.reconciliation, options.reconcileIntervalMs)
      ? await reconcile(ctx, snapshot, columns, previous?.reconciliation, previous?.reconciliation?.settledUpTo ?? from)
      : undefined
    const silentEdits = new Map((reconciled ?? []).filter((r) => r.changedKeys.length > 0).map((r) => [r.table, r.changedKeys]))
    const sourceSnapshot = await snapshot.snapshotMark()
    const checking = to !== null && isLateRowsCheckDue(previous?.lateRows, options.lateRowsIntervalMs)
      ? checkLateRows(ctx, snapshot, columns, previous?.lateRows, to)
      : undefined
    // Handled where awaited; this only keeps a failure while the copies run from being reported as unhandled.
    checking?.catch(() => {})
    // Without stored summaries (a first extract) the check finds no late row and only takes the first summaries:
    // the copies need nothing from it, so it runs beside them (one server process each) instead of before them.
    const beside = checking !== undefined && previous?.lateRows === undefined && !windowIsEmpty
    const checkedFirst = beside ? undefined : await checking
    if (checkedFirst) lateRowsChecked = { lateRows: lateRowsSummary(checkedFirst) }
    const lateKeys = new Map((checkedFirst ?? []).filter((r) => r.lateKeys.length > 0).map((r) => [r.table, r.lateKeys]))
    if (windowIsEmpty && silentEdits.size === 0 && lateKeys.size === 0 && !(breaking.length > 0)) {
      return summary({ schemaChanges, ...heldBack, ...(reconciled ? { reconciled: reconcileSummary(reconciled) } : {}) })
    }

    const open = snapshot
    // Tables copy side by side where the source offers several connections on one snapshot.
    const copied = await mapInParallel(tables, open.copyConcurrency ?? 1, async (table): Promise<ManifestTable | undefined> => {
      if (ctx.signal?.aborted) throw new StageAbortedError('extract')
      const tableColumns = columns.get(table.name) ?? []
      const extraKeys = [...(silentEdits.get(table.name) ?? []), ...(lateKeys.get(table.name) ?? [])]
      if (windowIsEmpty && extraKeys.length === 0) return undefined
      // An empty window still copies silent edits: from = to selects no row by watermark.
      const range = { column: table.watermarkColumn, from: window!.from, to: window!.to }
      const copy = open.copyRange(table.name, tableColumns.map((c) => c.name), range, {
        keyColumn: table.primaryKey,
        keys: extraKeys,
      })
      const body = await nonEmptyCsv(copy)
      if (body === undefined) return undefined
      const key = dataKey(table.name, runId, 'csv')
      const info = await ctx.ingestion.put(key, body)
      ctx.logger.debug('extracted table', { runId, table: table.name, rows: copy.rowCount })
      ctx.progress?.add('extract', table.name, copy.rowCount)
      return { table: table.name, key, format: 'csv', rows: copy.rowCount, bytes: info.size, sha256: info.sha256, columns: tableColumns }
    })
    const written = copied.filter((t): t is ManifestTable => t !== undefined)
    const late = beside ? await checking : checkedFirst
    if (late) lateRowsChecked = { lateRows: lateRowsSummary(late) }
    await snapshot.close()
    snapshot = undefined
    if (written.length === 0 && breaking.length === 0) {
      return summary({ schemaChanges, ...heldBack, ...(reconciled ? { reconciled: reconcileSummary(reconciled) } : {}) })
    }
    if (ctx.signal?.aborted) throw new StageAbortedError('extract')
    if (!(await lease.isHeld())) throw new LeaseLostError('extract', runId)

    const reconciliation = reconciled ? await writeBaseline(ctx.ingestion, runId, reconciled, window?.to ?? from) : previous?.reconciliation
    const lateRows = late && to !== null ? await writeLateRowsState(ctx.ingestion, runId, late, to, sourceSnapshot) : previous?.lateRows
    ctx.logger.debug('writing the manifest', { stage: 'extract', runId })
    const manifest: RunManifest = {
      formatVersion: 1,
      runId,
      stage: 'extract',
      dataset: ctx.dataset.name,
      createdAt: new Date().toISOString(),
      // No window only when the source has no rows at all (an accepted schema change on an empty source).
      ...(window ? { watermark: window } : {}),
      tables: written,
      sourceSchema: Object.fromEntries(columns),
      ...(schemaChanges.length > 0 ? { schemaChanges } : {}),
      ...(reconciliation ? { reconciliation } : {}),
      ...(silentEdits.size > 0 ? { silentEdits: Object.fromEntries([...silentEdits].map(([t, keys]) => [t, keys.length])) } : {}),
      sourceSnapshot,
      // Only a window that took every row may stand for the next run: rows above it would otherwise wait for a write.
      ...(end.caughtUp === true && activity !== undefined ? { sourceActivity: activity.mark } : {}),
      ...(lateRows ? { lateRows } : {}),
      ...(lateKeys.size > 0 ? { lateRowsFound: Object.fromEntries([...lateKeys].map(([t, keys]) => [t, keys.length])) } : {}),
    }
    await writeManifest(ctx.ingestion, manifest, previousStored)
    const rows = written.reduce((sum, t) => sum + t.rows, 0)
    ctx.logger.info('extract run committed', { runId, rows, tables: written.length })
    return summary({
      runId,
      ...(window ? { window } : {}),
      tables: written.map(({ table, rows, bytes, key }) => ({ table, rows, bytes, key })),
      rows,
      schemaChanges,
      ...heldBack,
      ...(reconciled ? { reconciled: reconcileSummary(reconciled) } : {}),
    })
  } catch (error) {
    if (ownsRunKeys) await deleteRunObjects(ctx, runId).catch(() => {})
    throw error
  } finally {
    await snapshot?.close().catch(() => {})
    await lease.release().catch(() => {})
  }
}

function isReconcileDue(last: ReconciliationState | undefined, intervalMs: number | undefined): boolean {
  if (intervalMs === undefined) return false
  return last === undefined || Date.now() - Date.parse(last.at) >= intervalMs
}

async function reconcile(
  ctx: StageContext,
  snapshot: SourceSnapshot,
  columns: ReadonlyMap<string, readonly ManifestColumn[]>,
  last: ReconciliationState | undefined,
  settledUpTo: string | null,
): Promise<ReconciledTable[]> {
  const results: ReconciledTable[] = []
  for (const name of ctx.dataset.reconcileTables) {
    const table = ctx.dataset.sourceTables.find((t) => t.name === name)
    const tableColumns = columns.get(name)
    if (!table || !tableColumns) continue
    const baselineKey = last?.hashes[name]
    const previousHashes = baselineKey === undefined ? undefined : parseHashes((await ctx.ingestion.getBytes(baselineKey)).toString('utf8'))
    const result = await reconcileTable(snapshot, {
      table: name,
      primaryKey: table.primaryKey,
      watermarkColumn: table.watermarkColumn,
      columns: tableColumns.map((c) => c.name),
      settledUpTo,
      previous: previousHashes,
    })
    if (result.changedKeys.length > 0 || result.deletedKeys.length > 0) {
      ctx.logger.warn('reconciliation found rows changed behind the watermark', {
        table: name,
        silentEdits: result.changedKeys.length,
        deleted: result.deletedKeys.length,
      })
    }
    results.push(result)
  }
  return results
}

async function writeBaseline(
  store: ObjectStore,
  runId: string,
  reconciled: readonly ReconciledTable[],
  settledUpTo: string | null,
): Promise<ReconciliationState> {
  const hashes: Record<string, string> = {}
  for (const table of reconciled) {
    const key = reconcileKey(table.table, runId)
    await store.put(key, table.hashesCsv)
    hashes[table.table] = key
  }
  return { at: new Date().toISOString(), hashes, settledUpTo }
}

function reconcileSummary(reconciled: readonly ReconciledTable[]): ReconcileSummary[] {
  return reconciled.map((r) => ({ table: r.table, rows: r.rows, silentEdits: r.changedKeys.length, deleted: r.deletedKeys.length }))
}

/**
 * Removes what a run wrote if it never published its manifest. Returns the
 * run id when there was such a run.
 */
async function removeUnpublishedRun(ctx: StageContext, runId: string): Promise<string | undefined> {
  if ((await ctx.ingestion.head(manifestKey(runId))) !== undefined) return undefined
  await deleteRunObjects(ctx, runId)
  // No manifest was published, but a put of it may have been cut short: deleting its key removes what that left.
  await ctx.ingestion.delete(manifestKey(runId))
  ctx.logger.warn('removed the leftovers of an unfinished extract run', { runId })
  return runId
}

/** A run's keys are fixed by its id, so nothing needs listing. */
async function deleteRunObjects(ctx: StageContext, runId: string): Promise<void> {
  for (const table of ctx.dataset.sourceTables) {
    await ctx.ingestion.delete(dataKey(table.name, runId, 'csv'))
    await ctx.ingestion.delete(reconcileKey(table.name, runId))
    await ctx.ingestion.delete(rangeSummaryKey(table.name, runId))
  }
}
