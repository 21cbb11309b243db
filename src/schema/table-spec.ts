/**
 * The column contract of a warehouse table, engine-neutral. The transform
 * checks every model's output against it and every warehouse adapter turns
 * it into DDL, so the two can never disagree.
 */

/** Logical column types; each engine maps them to its own names. */
export type ColumnType =
  | 'integer'
  | 'bigint'
  | 'text'
  | 'varchar'
  | 'date'
  | 'time'
  | 'timestamp'
  | 'boolean'
  | 'double'
  | `decimal(${number},${number})`

export interface ColumnSpec {
  readonly name: string
  readonly type: ColumnType
  readonly nullable: boolean
  /** A foreign key to another table of the same schema. */
  readonly references?: { readonly table: string; readonly column: string }
}

export const TABLE_KINDS = ['dimension', 'fact'] as const
export type TableKind = (typeof TABLE_KINDS)[number]

export interface TableSpec {
  readonly name: string
  /**
   * `dimension`: one row per key, latest values (loaded by upsert).
   * `fact`: one row per source row version, never updated (loaded by append).
   */
  readonly kind: TableKind
  /** The columns data files carry, in file order. */
  readonly columns: readonly ColumnSpec[]
  /** Dimensions: the key the upsert matches on. */
  readonly primaryKey?: readonly string[]
  /**
   * Facts: the surrogate key the warehouse assigns (first column of the
   * table, not in data files), numbered in `appendOrder`.
   */
  readonly recordId?: string
  /** Facts: the order in which a run's rows get record ids (deterministic). */
  readonly appendOrder?: readonly string[]
  /**
   * Facts: the source row's id. The warehouse offers `<table>_current`, the
   * latest version of each, beside the full history.
   */
  readonly naturalKey?: readonly string[]
  /**
   * Facts: what makes a row one version of one source row (the source id and
   * its watermark). Held unique by the warehouse, so a run loaded twice (an
   * emptied ledger, a lake replayed) fails instead of doubling the facts.
   */
  readonly versionKey?: readonly string[]
}

/** The view with the latest version of each fact's source row. */
export function currentViewName(spec: TableSpec): string {
  return `${spec.name}_current`
}

/** Where facts wait whose dimension rows have not arrived yet. */
export function heldTableName(spec: TableSpec): string {
  return `_starline_held_${spec.name}`
}

/** The columns a warehouse table has: the record id (facts) then the data columns. */
export function tableColumns(spec: TableSpec): readonly ColumnSpec[] {
  return spec.recordId === undefined
    ? spec.columns
    : [{ name: spec.recordId, type: 'integer', nullable: false }, ...spec.columns]
}

/** Tables ordered so that every table comes after the tables it references. */
export function inDependencyOrder(specs: readonly TableSpec[]): TableSpec[] {
  const byName = new Map(specs.map((spec) => [spec.name, spec]))
  const ordered: TableSpec[] = []
  const seen = new Set<string>()
  const visit = (spec: TableSpec): void => {
    if (seen.has(spec.name)) return
    seen.add(spec.name)
    for (const column of spec.columns) {
      const parent = column.references && byName.get(column.references.table)
      if (parent && parent !== spec) visit(parent)
    }
    ordered.push(spec)
  }
  specs.forEach(visit)
  return ordered
}
