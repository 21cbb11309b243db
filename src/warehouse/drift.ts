/**
 * Warehouse drift: what the warehouse holds against what its ledger vouches
 * for. Each engine reads its catalog and counts into a WarehouseObservation;
 * the comparison, the findings and the refusal message are the same for all.
 *
 * What the ledger vouches for: every load writes, per table, the rows it
 * inserted (dimension updates change no count), the facts left waiting in
 * the held table, and (since this check) the fact table's newest record id.
 * So a table's count(*) equals the sum of its `inserted`, a held table's
 * count equals the `held` of its latest ledger row, and a fact's max record
 * id equals the `last_record_id` of its latest ledger row.
 */
import { currentViewName, heldTableName, type TableSpec } from '../schema/table-spec.js'
import { WarehouseError } from './errors.js'
import { qualify, quoteIdent } from '../sql/quote.js'
import { LEDGER_TABLE, type DriftFinding, type LoadPlan } from './warehouse.js'

/** What the ledger recorded for one table, summed over its loads. */
export interface LedgerTotals {
  /** Sum of `inserted` over every load of the table. */
  readonly inserted: number
  /** `held` of the table's latest ledger row: facts waiting after it. */
  readonly held: number
  /** The fact's newest record id after its latest load; null when the ledger predates the column. */
  readonly lastRecordId: number | null
}

/** One star table as the engine found it; counts only when it exists. */
export interface ObservedTable {
  readonly exists: boolean
  readonly rows: number
  /** Facts: max(record id), 0 when empty. */
  readonly maxRecordId: number
  /** The keys the table has, as keyLabels() names them. */
  readonly keys: readonly string[]
  /** Facts: the `_current` view exists. */
  readonly currentView: boolean
  /** Facts: the held table exists, and how many rows wait in it. */
  readonly heldExists: boolean
  readonly heldRows: number
}

export interface WarehouseObservation {
  /** Both ledger tables exist. */
  readonly ledgerExists: boolean
  /** Runs in `_starline_loads`. */
  readonly runs: number
  /** Ledger totals by table name (tables never loaded are absent). */
  readonly totals: ReadonlyMap<string, LedgerTotals>
  readonly tables: ReadonlyMap<string, ObservedTable>
}

/**
 * The keys starline declares on a table, named the way engines' catalogs are
 * read back: `primary key (a, b)`, `foreign key (c) references "dim_x"`. The
 * version key is left out: ensureTables adds it to a table without it.
 */
export function keyLabels(spec: TableSpec): string[] {
  const key = spec.recordId ? [spec.recordId] : (spec.primaryKey ?? [])
  const labels = key.length > 0 ? [primaryKeyLabel(key)] : []
  for (const column of spec.columns) {
    if (column.references) labels.push(foreignKeyLabel([column.name], column.references.table))
  }
  return labels
}

export function primaryKeyLabel(columns: readonly string[]): string {
  return `primary key (${[...columns].sort().join(', ')})`
}

export function foreignKeyLabel(columns: readonly string[], table: string): string {
  return `foreign key (${[...columns].sort().join(', ')}) references "${table}"`
}

/** Every difference between `observed` and its ledger, table by table in spec order. */
export function compareWithLedger(tables: readonly TableSpec[], observed: WarehouseObservation): DriftFinding[] {
  const findings: DriftFinding[] = []
  const found = (table: string, problem: string): void => void findings.push({ table, problem })
  if (!observed.ledgerExists || observed.runs === 0) {
    // No run in the ledger: a new warehouse, unless star tables already hold rows nobody vouches for.
    const holding = tables.flatMap((spec) => {
      const table = observed.tables.get(spec.name)
      return table?.exists && table.rows > 0 ? [`"${spec.name}" ${table.rows}`] : []
    })
    if (holding.length === 0) return findings
    found(LEDGER_TABLE, `${observed.ledgerExists ? 'lists no runs' : 'is missing'}, but tables hold rows it does not vouch for (${holding.join(', ')})`)
    return findings
  }
  for (const spec of tables) {
    const table = observed.tables.get(spec.name)
    const totals = observed.totals.get(spec.name) ?? { inserted: 0, held: 0, lastRecordId: null }
    // ensureTables creates every table before the first load: after one, each must still be there.
    if (!table?.exists) {
      found(spec.name, `is missing; the ledger vouches for ${totals.inserted} rows in it`)
      continue
    }
    if (table.rows !== totals.inserted) found(spec.name, `holds ${table.rows} rows; the ledger vouches for ${totals.inserted}`)
    if (spec.kind === 'fact' && totals.lastRecordId !== null && table.maxRecordId !== totals.lastRecordId) {
      found(spec.name, `has newest record id ${table.maxRecordId}; the ledger recorded ${totals.lastRecordId}`)
    }
    const missingKeys = keyLabels(spec).filter((label) => !table.keys.includes(label))
    if (missingKeys.length > 0) found(spec.name, `has lost its ${missingKeys.join(' and its ')}`)
    if (spec.kind !== 'fact') continue
    if (!table.currentView) found(currentViewName(spec), 'is missing')
    if (!table.heldExists) {
      found(heldTableName(spec), `is missing; the ledger vouches for ${totals.held} held rows in it`)
    } else if (table.heldRows !== totals.held) {
      found(heldTableName(spec), `holds ${table.heldRows} rows; the ledger vouches for ${totals.held}`)
    }
  }
  return findings
}

/** The load refused because the warehouse drifted from its ledger: terminal, nothing was written. */
export class WarehouseDriftError extends WarehouseError {
  readonly findings: readonly DriftFinding[]

  constructor(schema: string, findings: readonly DriftFinding[]) {
    const listed = findings.map((f) => `"${f.table}" ${f.problem}`).join('; ')
    super(
      `The warehouse schema "${schema}" is not what its ledger vouches for: ${listed}. Nothing was loaded. ` +
        'Run `starline rebuild` to reload the warehouse from the lake (the current tables stay until the rebuilt ones replace them).',
      { retryable: false, context: { table: findings[0]?.table ?? '' } },
    )
    this.findings = findings
  }
}

/** SQL for a fact's newest record id (its primary key's index answers it), for its ledger row; NULL for a dimension. */
export function lastRecordIdSql(plan: LoadPlan, table: string): string {
  const spec = plan.facts.find((f) => f.name === table)
  return spec?.recordId ? `(SELECT max(${quoteIdent(spec.recordId)}) FROM ${qualify(plan.schema, spec.name)})` : 'NULL'
}

/**
 * The ledger totals query (PostgreSQL, DuckDB and Redshift all run it):
 * per table, the sum of `inserted`, and `held` and `last_record_id` of its
 * latest run. Counts come back as text, so 64-bit values stay exact.
 */
export function ledgerTotalsSql(ledgerTables: string, withLastRecordId: boolean): string {
  const last = withLastRecordId ? 'CAST(l.last_record_id AS VARCHAR)' : 'CAST(NULL AS VARCHAR)'
  return (
    `SELECT s.table_name, CAST(s.inserted AS VARCHAR) AS inserted, CAST(l.held AS VARCHAR) AS held, ${last} AS last_record_id ` +
    `FROM (SELECT table_name, sum(inserted) AS inserted, max(run_id) AS last_run FROM ${ledgerTables} GROUP BY table_name) s ` +
    `JOIN ${ledgerTables} l ON l.table_name = s.table_name AND l.run_id = s.last_run`
  )
}

/** Ledger totals rows (as ledgerTotalsSql returns them) by table name. */
export function totalsByTable(
  rows: readonly { table_name: string | null; inserted: string | null; held: string | null; last_record_id: string | null }[],
): Map<string, LedgerTotals> {
  return new Map(
    rows.map((r) => [
      r.table_name ?? '',
      { inserted: Number(r.inserted ?? 0), held: Number(r.held ?? 0), lastRecordId: r.last_record_id === null ? null : Number(r.last_record_id) },
    ]),
  )
}
