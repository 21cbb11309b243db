/**
 * Extract: copy what changed in the source since the last run into the
 * ingestion zone, one CSV object per changed table, then the manifest.
 *
 * The window is `previous.to < last_updated <= to` (see readWindowEnd for how
 * `to` is chosen), so a row is taken by exactly one run even when many rows
 * share a timestamp at the boundary. All tables are read in one snapshot.
 */
import type pg from 'pg'
import { dataKey, manifestKey } from '../lake/keys.js'
import { acquireLease, type Lease } from '../lake/lease.js'
import { latestManifest, listRunIds, writeManifest, type ManifestTable, type WatermarkRange } from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import { beginSnapshot, connectSource, copyTableRange, readSourceColumns, readWindowEnd } from '../source/postgres-source.js'
import { nonEmptyCsv } from '../source/non-empty-csv.js'
import type { StageContext } from './context.js'
import { PipelineError, StageAbortedError } from './errors.js'
import { nextRunId } from './run-id.js'

export interface ExtractOptions {
  readonly sourceUrl: string
  readonly sourceSchema: string
  /** Leave rows stamped within this many ms of the source's clock for the next run. */
  readonly lagMs: number
}

export interface ExtractedTable {
  readonly table: string
  readonly rows: number
  readonly bytes: number
  readonly key: string
}

export interface ExtractSummary {
  readonly stage: 'extract'
  /** The run written, or undefined when nothing changed. */
  readonly runId?: string
  readonly window?: WatermarkRange
  readonly tables: readonly ExtractedTable[]
  readonly rows: number
  /** A crashed run whose leftovers were removed first. */
  readonly recoveredRunId?: string
  readonly heldBackByTransactionMs?: number
  readonly durationMs: number
}

export async function extract(ctx: StageContext, options: ExtractOptions): Promise<ExtractSummary> {
  const started = Date.now()
  // Run ids must sort after every published run, even if this clock lags another runner's.
  const runId = nextRunId((await listRunIds(ctx.ingestion)).at(-1))
  const lease = await acquireLease(ctx.ingestion, 'extract', runId, { ttlMs: ctx.leaseTtlMs })
  const recoveredRunId = lease.replaced ? await removeUnpublishedRun(ctx, lease.replaced.runId) : undefined
  let client: pg.Client | undefined
  try {
    const previous = await latestManifest(ctx.ingestion)
    if (previous && previous.manifest.runId >= runId) {
      throw new PipelineError(
        `Another extract run (${previous.manifest.runId}) committed while this one was starting. Run again.`,
        { retryable: true },
      )
    }
    client = await connectSource(options.sourceUrl, { setting: 'STARLINE_SOURCE_URL' })
    await beginSnapshot(client)
    const tables = ctx.dataset.sourceTables
    const columns = await readSourceColumns(client, options.sourceSchema, tables.map((t) => t.name))
    const end = await readWindowEnd(client, { schema: options.sourceSchema, tables, lagMs: options.lagMs })
    const from = previous?.manifest.watermark?.to ?? null
    const heldBack = end.heldBackByTransactionMs === undefined ? {} : { heldBackByTransactionMs: end.heldBackByTransactionMs }
    if (end.heldBackByTransactionMs !== undefined) {
      ctx.logger.warn('an open source transaction holds the extract window back', { ageMs: end.heldBackByTransactionMs })
    }
    if (end.to === null || (from !== null && end.to <= from)) {
      return { stage: 'extract', tables: [], rows: 0, durationMs: Date.now() - started, ...recovered(recoveredRunId), ...heldBack }
    }
    const window: WatermarkRange = { column: 'last_updated', from, to: end.to }

    const written: ManifestTable[] = []
    for (const table of tables) {
      if (ctx.signal?.aborted) throw new StageAbortedError('extract')
      const tableColumns = columns.get(table.name) ?? []
      const range = { ...window, column: table.watermarkColumn }
      const copy = copyTableRange(client, options.sourceSchema, table.name, tableColumns.map((c) => c.name), range)
      const body = await nonEmptyCsv(copy)
      if (body === undefined) continue
      const key = dataKey(table.name, runId, 'csv')
      const info = await ctx.ingestion.put(key, body)
      written.push({
        table: table.name,
        key,
        format: 'csv',
        rows: copy.rowCount,
        bytes: info.size,
        sha256: info.sha256 ?? '',
        columns: tableColumns,
      })
      ctx.logger.debug('extracted table', { runId, table: table.name, rows: copy.rowCount })
    }
    await client.query('COMMIT')
    if (written.length === 0) {
      return { stage: 'extract', tables: [], rows: 0, durationMs: Date.now() - started, ...recovered(recoveredRunId), ...heldBack }
    }
    if (ctx.signal?.aborted) throw new StageAbortedError('extract')
    await writeManifest(ctx.ingestion, {
      formatVersion: 1,
      runId,
      stage: 'extract',
      dataset: ctx.dataset.name,
      createdAt: new Date().toISOString(),
      watermark: window,
      tables: written,
    })
    const summary: ExtractSummary = {
      stage: 'extract',
      runId,
      window,
      tables: written.map(({ table, rows, bytes, key }) => ({ table, rows, bytes, key })),
      rows: written.reduce((sum, t) => sum + t.rows, 0),
      durationMs: Date.now() - started,
      ...recovered(recoveredRunId),
      ...heldBack,
    }
    ctx.logger.info('extract run committed', { runId, rows: summary.rows, tables: written.length })
    return summary
  } catch (error) {
    await deleteRunObjects(ctx, runId).catch(() => {})
    throw error
  } finally {
    await client?.end().catch(() => {})
    await lease.release().catch(() => {})
  }
}

function recovered(runId: string | undefined): { recoveredRunId?: string } {
  return runId === undefined ? {} : { recoveredRunId: runId }
}

/**
 * Removes what a run wrote if it never published its manifest. Its keys are
 * known from its run id, so nothing needs listing. Returns the run id when
 * there was such a run.
 */
async function removeUnpublishedRun(ctx: StageContext, runId: string): Promise<string | undefined> {
  if (await isPublished(ctx.ingestion, runId)) return undefined
  await deleteRunObjects(ctx, runId)
  ctx.logger.warn('removed the leftovers of an unfinished extract run', { runId })
  return runId
}

/** A run's data keys are fixed by its id, so nothing needs listing. */
async function deleteRunObjects(ctx: StageContext, runId: string): Promise<void> {
  for (const table of ctx.dataset.sourceTables) {
    await ctx.ingestion.delete(dataKey(table.name, runId, 'csv'))
  }
}

async function isPublished(store: ObjectStore, runId: string): Promise<boolean> {
  return (await store.head(manifestKey(runId))) !== undefined
}
