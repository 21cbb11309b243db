/**
 * `--dry-run`: what each stage would move, with nothing written. No lake
 * object, no lease, no warehouse change: the extract plan counts rows in
 * one read-only snapshot of the source; the transform and load plans read
 * manifests and the ledger.
 */
import { latestManifest, listRunIdsFrom, newestRunId, readManifest } from '../lake/manifest.js'
import type { SchemaChange } from '../schema/schema-change.js'
import type { WatermarkRange } from '../schema/watermark.js'
import { breakingChanges, compareSchemas, schemaDriftError } from '../source/schema-drift.js'
import type { StageContext } from './context.js'
import type { ExtractOptions } from './extract.js'
import { isLateRowsCheckDue } from './late-rows.js'
import { assertSameLake, type LoadOptions } from './load.js'
import { WarehouseDriftError } from '../warehouse/drift.js'

export interface PlannedTable {
  readonly table: string
  readonly rows: number
}

export interface ExtractPlan {
  readonly stage: 'extract'
  /** The window the next extract would read; undefined when nothing changed. */
  readonly window?: WatermarkRange
  readonly tables: readonly PlannedTable[]
  readonly rows: number
  /** Reconciliation may add silently edited rows; a dry run does not hash the source. */
  readonly reconcileDue: boolean
  /** The large tables' late-row check may add late rows; a dry run does not summarize the source. */
  readonly lateRowsDue: boolean
  /** How the source's columns differ from the last extract's (a breaking change fails the plan as it fails the run). */
  readonly schemaChanges: readonly SchemaChange[]
}

export interface PlannedRun {
  readonly runId: string
  readonly tables: readonly PlannedTable[]
  readonly rows: number
}

export interface RunsPlan {
  readonly stage: 'transform' | 'load'
  /** Runs the stage would take, oldest first, with the rows their manifests list. */
  readonly runs: readonly PlannedRun[]
  readonly rows: number
}

export async function planExtract(ctx: StageContext, options: ExtractOptions): Promise<ExtractPlan> {
  const previous = (await latestManifest(ctx.ingestion, 'extract'))?.manifest
  const snapshot = await options.source.openSnapshot()
  try {
    const tables = ctx.dataset.sourceTables
    // The run judges drift before any data moves; so does its dry run, or it would promise a run that then fails.
    const schemaChanges = compareSchemas(previous?.sourceSchema ?? {}, await snapshot.columns(tables.map((t) => t.name)))
    const breaking = breakingChanges(schemaChanges)
    if (breaking.length > 0 && !options.acceptSchemaChange) throw schemaDriftError(breaking, previous!.runId)
    const end = await snapshot.windowEnd(tables, options.lagMs)
    const from = previous?.watermark?.to ?? null
    const to = end.to === null || (from !== null && end.to < from) ? from : end.to
    const last = previous?.reconciliation?.at
    const reconcileDue = options.reconcileIntervalMs !== undefined && (last === undefined || Date.now() - Date.parse(last) >= options.reconcileIntervalMs)
    const lateRowsDue = to !== null && isLateRowsCheckDue(previous?.lateRows, options.lateRowsIntervalMs)
    if (to === null || to === from) return { stage: 'extract', tables: [], rows: 0, reconcileDue, lateRowsDue, schemaChanges }
    const planned: PlannedTable[] = []
    for (const table of tables) {
      const rows = await snapshot.countRange(table.name, { column: table.watermarkColumn, from, to })
      if (rows > 0) planned.push({ table: table.name, rows })
    }
    return { stage: 'extract', window: { column: 'last_updated', from, to }, tables: planned, rows: sum(planned), reconcileDue, lateRowsDue, schemaChanges }
  } finally {
    await snapshot.close().catch(() => {})
  }
}

export async function planTransform(ctx: StageContext): Promise<RunsPlan> {
  // As the transform lists: from the newest processed run, since every run before it was transformed.
  const from = await newestRunId(ctx.processed)
  const [ingested, processed] = await Promise.all([listRunIdsFrom(ctx.ingestion, from), listRunIdsFrom(ctx.processed, from)])
  const done = new Set(processed)
  const pending = ingested.filter((id) => !done.has(id))
  return runsPlan('transform', await Promise.all(pending.map((id) => plannedRun(ctx, 'ingestion', id))))
}

/**
 * Reads the ledger only: the warehouse's tables are not created. A lake the
 * real load would refuse (not the one that fed the warehouse) is refused here too.
 */
export async function planLoad(ctx: StageContext, options: LoadOptions): Promise<RunsPlan> {
  // A dry run refuses what the load would refuse: a warehouse that drifted from its ledger, another lake.
  const drift = await options.warehouse.checkAgainstLedger(options.schema, ctx.dataset.models.map((m) => m.table))
  if (drift.length > 0) throw new WarehouseDriftError(options.schema, drift)
  // As the load lists: from the newest loaded run, the only one after which runs can be pending.
  const newest = await options.warehouse.newestLoadedRun(options.schema)
  const processed = await listRunIdsFrom(ctx.processed, newest?.runId)
  await assertSameLake(ctx, newest === undefined ? [] : [newest], processed)
  const pending = processed.filter((id) => id !== newest?.runId)
  return runsPlan('load', await Promise.all(pending.map((id) => plannedRun(ctx, 'processed', id))))
}

async function plannedRun(ctx: StageContext, zone: 'ingestion' | 'processed', runId: string): Promise<PlannedRun> {
  const { manifest } = await readManifest(ctx[zone], runId, zone === 'ingestion' ? 'extract' : 'transform')
  const tables = manifest.tables.map((t) => ({ table: t.table, rows: t.rows }))
  return { runId, tables, rows: sum(tables) }
}

function runsPlan(stage: 'transform' | 'load', runs: PlannedRun[]): RunsPlan {
  return { stage, runs, rows: runs.reduce((s, r) => s + r.rows, 0) }
}

function sum(tables: readonly PlannedTable[]): number {
  return tables.reduce((s, t) => s + t.rows, 0)
}
