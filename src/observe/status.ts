/**
 * `starline status`: what the lake and the warehouse hold, read from the
 * lake's manifests, failure records and alert incidents and from the
 * warehouse's ledger (and held tables); no side state, so it reads the same
 * on a laptop and on S3.
 *
 * Freshness is the pipeline's lag: a source change waits in the lake for as
 * long as an extracted run is not loaded, or for as long as a stage keeps
 * failing (its failure records in the lake since its last recovery: every
 * runner writes them, on Lambda too, and no alert sink is needed). A
 * pipeline whose runs succeed and load everything they extract has no lag,
 * however quiet the source is.
 */
import { runIdInstant } from '../core/run-id.js'
import { messageOf } from '../core/starline-error.js'
import { failingSince, lastFailure, type FailureRecord } from '../lake/failure-record.js'
import { listRunIdsFrom, readManifest, type RunManifest } from '../lake/manifest.js'
import type { ObjectStore } from '../lake/object-store.js'
import type { Dataset } from '../schema/dataset.js'
import type { TableSpec } from '../schema/table-spec.js'
import { readIncidents } from './alerts/incidents.js'

/** Manifests read per zone, newest first: enough for the last run of every table on a busy lake. */
const MANIFESTS_READ = 200

export interface SourceTableStatus {
  readonly table: string
  /** The watermark the lake holds every row of this table up to (the newest extract's window end). */
  readonly watermark: string | null
  readonly lastRunId?: string
  readonly lastRunAt?: string
  readonly lastRunAgeMs?: number
  /** Rows in the last run that carried the table. */
  readonly lastRunRows: number
  /** Rows extracted over the runs read. */
  readonly rowsMoved: number
  /** Rows of this table that failed validation, over the runs read. */
  readonly quarantined: number
}

export interface WarehouseTableStatus {
  readonly table: string
  readonly kind: 'dimension' | 'fact'
  readonly lastRunId?: string
  readonly loadedAt?: string
  readonly loadedAgeMs?: number
  readonly lastRunRows: number
  /** Rows loaded over every run in the ledger. */
  readonly rowsMoved: number
  /** Facts waiting now for a dimension row, and for how many loads the oldest has waited. */
  readonly held: number
  readonly heldForRuns: number
  readonly lagMs: number
  readonly fresh: boolean
}

export interface PipelineStatus {
  readonly at: string
  readonly freshnessTargetMs: number
  readonly source: readonly SourceTableStatus[]
  /** Empty when no warehouse is configured or it could not be read (then `warehouseError` says why). */
  readonly warehouse: readonly WarehouseTableStatus[]
  readonly warehouseError?: string
  /** False for an engine that does not report its ledger per table (rows moved and held rows then read 0). */
  readonly perTableLedger: boolean
  /** Runs extracted but not transformed, and transformed but not loaded. */
  readonly pending: { readonly transform: readonly string[]; readonly load: readonly string[] }
  /** The newest failure of each stage, whether or not it is still failing. */
  readonly lastFailures: readonly FailureRecord[]
  /** The stages failing now (no success since their last failure), and since when. */
  readonly failing: readonly { readonly stage: string; readonly since: string }[]
  /** Incidents raised and not yet resolved. */
  readonly openIncidents: readonly { readonly incident: string; readonly since: string; readonly title: string }[]
  /** How many manifests per zone were read (the newest ones). */
  readonly runsRead: number
}

/** A ledger row per table, as the warehouse records it (see Warehouse.ledgerDetail). */
interface LedgerTableRow {
  readonly runId: string
  readonly table: string
  readonly rows: number
  readonly held: number
  readonly loadedAt: Date
}

/**
 * What status reads from a warehouse: its ledger and its held tables. Every
 * Warehouse is one (observe/ sits below warehouse/ in the layers, so it names
 * only the part it reads).
 */
export interface LedgerReader {
  /** With a range, only those runs (see Warehouse.loadedRuns); a reader may ignore it and answer every run. */
  loadedRuns(schema: string, range?: { readonly from?: string; readonly newest?: boolean }): Promise<readonly { readonly runId: string }[]>
  ledgerDetail?(
    schema: string,
    facts: readonly TableSpec[],
    range?: { readonly from?: string },
  ): Promise<{ readonly tables: readonly LedgerTableRow[]; readonly held: readonly { readonly table: string; readonly rows: number; readonly oldestRunId: string }[] }>
}

export interface StatusInputs {
  readonly dataset: Dataset
  readonly ingestion: ObjectStore
  readonly processed: ObjectStore
  /** Undefined when no warehouse is configured: the warehouse part is left empty. */
  readonly warehouse?: LedgerReader
  readonly schema: string
  readonly freshnessTargetMs: number
  readonly now?: Date
  /**
   * How many of each zone's newest manifests to read for the source part
   * (default 200). The alerts after a cycle need none: then the zones are
   * listed only from the warehouse's newest loaded run, as everything
   * before it is transformed and loaded.
   */
  readonly manifestsRead?: number
}

export async function collectStatus(inputs: StatusInputs): Promise<PipelineStatus> {
  const now = inputs.now ?? new Date()
  const facts = inputs.dataset.models.map((m) => m.table).filter((t) => t.kind === 'fact')
  // A warehouse that cannot be read is part of the picture, not a reason to show nothing.
  const read = inputs.manifestsRead ?? MANIFESTS_READ
  const ledger = await readLedger(inputs, facts, read === 0)
  const from = read === 0 && !('error' in ledger) ? ledger.loadedRuns.at(-1)?.runId : undefined
  const extracted = await listRunIdsFrom(inputs.ingestion, from)
  const processedIds = await listRunIdsFrom(inputs.processed, from)
  const extracts = await readNewest(inputs.ingestion, extracted, 'extract', read)
  const transforms = await readNewest(inputs.processed, processedIds, 'transform', read)
  const warehouse = 'error' in ledger ? undefined : inputs.warehouse
  const { loadedRuns, detail } = 'error' in ledger ? { loadedRuns: [], detail: { tables: [], held: [] } } : ledger
  const incidents = await readIncidents(inputs.ingestion)
  const failures = (
    await Promise.all([lastFailure(inputs.ingestion, 'extract'), lastFailure(inputs.processed, 'transform'), lastFailure(inputs.processed, 'load')])
  ).filter((f): f is FailureRecord => f !== undefined)
  const failing = await failingStages(inputs)

  const loaded = new Set(loadedRuns.map((r) => r.runId))
  const transformed = new Set(processedIds)
  const pending = { transform: extracted.filter((id) => !transformed.has(id)), load: warehouse ? processedIds.filter((id) => !loaded.has(id)) : [] }
  const lagMs = pipelineLag(now, extracted.filter((id) => !loaded.has(id)), failing, warehouse !== undefined)

  return {
    at: now.toISOString(),
    freshnessTargetMs: inputs.freshnessTargetMs,
    source: inputs.dataset.sourceTables.map((t) => sourceStatus(t.name, extracts, transforms, now)),
    ...('error' in ledger ? { warehouseError: ledger.error } : {}),
    perTableLedger: inputs.warehouse?.ledgerDetail !== undefined,
    warehouse: warehouse
      ? inputs.dataset.models.map((m) => warehouseStatus(m.table.name, m.table.kind, detail.tables, detail.held, loadedRuns.map((r) => r.runId), lagMs, inputs.freshnessTargetMs, now))
      : [],
    pending,
    lastFailures: failures,
    failing,
    openIncidents: incidents.filter((i) => i.open).map((i) => ({ incident: i.incident, since: i.last.at, title: i.last.title })),
    runsRead: Math.max(extracts.length, transforms.length),
  }
}

/**
 * The ledger: all of it for `starline status`; for the alerts (`recent`),
 * only what they need, so a cycle's cost does not grow with the ledger: the
 * newest loaded run (the zones are listed from it), the per-table rows from
 * it on, and the runs since the oldest held fact came (how long it waited).
 */
async function readLedger(inputs: StatusInputs, facts: readonly TableSpec[], recent: boolean) {
  const warehouse = inputs.warehouse
  if (!warehouse) return { loadedRuns: [], detail: { tables: [], held: [] } }
  try {
    if (!recent) {
      const loadedRuns = await warehouse.loadedRuns(inputs.schema)
      const detail = warehouse.ledgerDetail ? await warehouse.ledgerDetail(inputs.schema, facts) : { tables: [], held: [] }
      return { loadedRuns, detail }
    }
    const newest = (await warehouse.loadedRuns(inputs.schema, { newest: true })).at(-1)?.runId
    const detail = warehouse.ledgerDetail ? await warehouse.ledgerDetail(inputs.schema, facts, newest === undefined ? {} : { from: newest }) : { tables: [], held: [] }
    const oldestHeld = detail.held.map((h) => h.oldestRunId).sort()[0]
    const from = oldestHeld !== undefined && (newest === undefined || oldestHeld < newest) ? oldestHeld : newest
    const loadedRuns = from === undefined ? [] : await warehouse.loadedRuns(inputs.schema, { from })
    return { loadedRuns, detail }
  } catch (error) {
    return { error: messageOf(error).replace(/\s*\n\s*/g, ' ') }
  }
}

async function readNewest(store: ObjectStore, runIds: readonly string[], stage: RunManifest['stage'], count: number): Promise<RunManifest[]> {
  if (count === 0) return []
  const newest = runIds.slice(-count).reverse()
  return Promise.all(newest.map(async (id) => (await readManifest(store, id, stage)).manifest))
}

async function failingStages(inputs: StatusInputs): Promise<{ stage: string; since: string }[]> {
  const stages = [['extract', inputs.ingestion], ['transform', inputs.processed], ['load', inputs.processed]] as const
  const since = await Promise.all(stages.map(([stage, store]) => failingSince(store, stage)))
  return stages.flatMap(([stage], i) => (since[i] === undefined ? [] : [{ stage, since: since[i] }]))
}

/** How long the oldest change not yet in the warehouse has waited; 0 when everything extracted is loaded and nothing is failing. */
function pipelineLag(now: Date, unloaded: readonly string[], failing: readonly { readonly since: string }[], hasWarehouse: boolean): number {
  const since: number[] = failing.map((f) => Date.parse(f.since))
  const oldest = unloaded[0]
  if (hasWarehouse && oldest !== undefined) since.push(runIdInstant(oldest))
  return since.length === 0 ? 0 : Math.max(0, now.getTime() - Math.min(...since))
}

function sourceStatus(table: string, extracts: readonly RunManifest[], transforms: readonly RunManifest[], now: Date): SourceTableStatus {
  const runs = extracts.filter((m) => m.tables.some((t) => t.table === table))
  const last = runs[0]
  const lastRows = last?.tables.find((t) => t.table === table)?.rows ?? 0
  const quarantined = transforms.flatMap((m) => m.quarantine ?? []).filter((q) => q.table === table).reduce((sum, q) => sum + q.rows, 0)
  return {
    table,
    watermark: extracts.find((m) => m.watermark)?.watermark?.to ?? null,
    ...(last ? { lastRunId: last.runId, lastRunAt: last.createdAt, lastRunAgeMs: now.getTime() - Date.parse(last.createdAt) } : {}),
    lastRunRows: lastRows,
    rowsMoved: runs.reduce((sum, m) => sum + (m.tables.find((t) => t.table === table)?.rows ?? 0), 0),
    quarantined,
  }
}

function warehouseStatus(
  table: string,
  kind: 'dimension' | 'fact',
  ledger: readonly LedgerTableRow[],
  heldNow: readonly { table: string; rows: number; oldestRunId: string }[],
  loadedRunIds: readonly string[],
  lagMs: number,
  targetMs: number,
  now: Date,
): WarehouseTableStatus {
  const rows = ledger.filter((r) => r.table === table)
  const last = rows.at(-1)
  const held = heldNow.find((h) => h.table === table)
  return {
    table,
    kind,
    ...(last ? { lastRunId: last.runId, loadedAt: last.loadedAt.toISOString(), loadedAgeMs: now.getTime() - last.loadedAt.getTime() } : {}),
    lastRunRows: last?.rows ?? 0,
    rowsMoved: rows.reduce((sum, r) => sum + r.rows, 0),
    held: held?.rows ?? 0,
    // Loads since (and including) the one that first held the oldest row.
    heldForRuns: held ? loadedRunIds.filter((id) => id >= held.oldestRunId).length : 0,
    lagMs,
    fresh: lagMs <= targetMs,
  }
}
