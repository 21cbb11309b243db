/**
 * DDL in Redshift's dialect, from the engine-neutral table specs.
 *
 * - Types: Redshift's `text` is only varchar(256), so text is
 *   `varchar(65535)` (its maximum, counted in bytes: room for 16k+ four-byte
 *   characters); decimals are `numeric(p,s)`, exact.
 * - No sequences and no IDENTITY: starline numbers fact record ids itself,
 *   as the table's max + row_number() over the append order, so a rerun of
 *   a run assigns the same ids (IDENTITY values are neither dense nor
 *   repeatable in Redshift).
 * - Primary and foreign keys are declared for the planner and for tools
 *   that read the model, but Redshift never enforces them: uniqueness comes
 *   from the merge, and facts whose dimension row is missing are found by a
 *   query and held (see redshift-held-rows.ts).
 * - Distribution and sort keys (see tableAttributes).
 */
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldSinceColumn } from '../table-ddl.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE } from '../warehouse.js'
import { currentViewName, heldTableName, tableColumns, type ColumnSpec, type ColumnType, type TableSpec } from '../../schema/table-spec.js'

/** Redshift's type for a logical column type. */
export function redshiftType(type: ColumnType): string {
  switch (type) {
    case 'text':
    case 'varchar':
      return 'varchar(65535)'
    case 'double':
      return 'double precision'
    default:
      return type.startsWith('decimal') ? type.replace('decimal', 'numeric') : type
  }
}

/** A column definition; fact record ids are bigint (facts keep every version, so they outgrow int). */
function columnSql(spec: TableSpec, column: ColumnSpec): string {
  const type = column.name === spec.recordId ? 'bigint' : redshiftType(column.type)
  return `  ${quoteIdent(column.name)} ${type}${column.nullable ? '' : ' NOT NULL'}`
}

/**
 * Distribution and sort choices (Redshift-only syntax):
 *
 * - Dimensions: `DISTSTYLE ALL`, a copy on every node. They are small next
 *   to the facts, and every fact joins several of them: with a full copy
 *   per node no join moves data. Sorted by their key, which the merge and
 *   the joins match on.
 * - Facts: `DISTKEY` on the source row's id (the natural key), so every
 *   version of one order sits on one slice and the `_current` view's
 *   window (partitioned by that id) runs without redistribution. Compound
 *   `SORTKEY` in the append order (last-updated date, time, id): runs append
 *   in that order, so new blocks arrive nearly sorted (little VACUUM), and
 *   date-range queries skip blocks by zone maps.
 */
export function tableAttributes(spec: TableSpec): string {
  if (spec.kind === 'dimension') {
    return spec.primaryKey?.length ? ` DISTSTYLE ALL SORTKEY (${quoteIdentList(spec.primaryKey)})` : ' DISTSTYLE ALL'
  }
  const distKey = spec.naturalKey?.[0] ?? spec.recordId!
  const sortKey = spec.appendOrder?.length ? spec.appendOrder : [spec.recordId!]
  return ` DISTKEY (${quoteIdent(distKey)}) SORTKEY (${quoteIdentList(sortKey)})`
}

/**
 * `CREATE TABLE IF NOT EXISTS` for a star table. `attributes: false` leaves
 * out the Redshift-only DISTKEY/SORTKEY clause (tests run the rest on
 * PostgreSQL).
 */
export function createTableSql(schema: string, spec: TableSpec, options: { readonly attributes?: boolean } = {}): string {
  const lines = tableColumns(spec).map((column) => columnSql(spec, column))
  const key = spec.recordId ? [spec.recordId] : spec.primaryKey
  if (key) lines.push(`  PRIMARY KEY (${quoteIdentList(key)})`)
  for (const column of spec.columns) {
    if (!column.references) continue
    lines.push(
      `  FOREIGN KEY (${quoteIdent(column.name)}) REFERENCES ${qualify(schema, column.references.table)} (${quoteIdent(column.references.column)})`,
    )
  }
  const attributes = options.attributes === false ? '' : tableAttributes(spec)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, spec.name)} (\n${lines.join(',\n')}\n)${attributes}`
}

/**
 * Facts: the latest version of each source row. Redshift has no DISTINCT
 * ON, so a window ranks versions by the source's own order (a version held
 * for a late dimension gets a higher record id when released, though a
 * newer version may have been loaded before it), then the record id.
 */
export function createCurrentViewSql(schema: string, spec: TableSpec): string {
  const columns = quoteIdentList(tableColumns(spec).map((c) => c.name))
  const key = quoteIdentList(spec.naturalKey ?? [])
  const newestFirst = [...(spec.appendOrder ?? []), spec.recordId!].map((c) => `${quoteIdent(c)} DESC`).join(', ')
  return (
    `CREATE OR REPLACE VIEW ${qualify(schema, currentViewName(spec))} AS ` +
    `SELECT ${columns} FROM (SELECT ${columns}, row_number() OVER (PARTITION BY ${key} ORDER BY ${newestFirst}) AS "_starline_rank" ` +
    `FROM ${qualify(schema, spec.name)}) AS "ranked" WHERE "_starline_rank" = 1`
  )
}

/** Facts: rows waiting for a dimension row, with the run that first brought them. */
export function createHeldTableSql(schema: string, spec: TableSpec): string {
  const columns = spec.columns.map((c) => `  ${quoteIdent(c.name)} ${redshiftType(c.type)}`)
  return `CREATE TABLE IF NOT EXISTS ${qualify(schema, heldTableName(spec))} (\n${columns.join(',\n')},\n  ${quoteIdent(heldSinceColumn(spec))} varchar(64) NOT NULL\n)`
}

/**
 * The ledger: one row per loaded run, one per table of it. Small and read
 * by every load, so `DISTSTYLE ALL`. Redshift has no `ADD COLUMN IF NOT
 * EXISTS`: a new ledger column needs a migration step here when it comes.
 */
export function createLedgerSql(schema: string, options: { readonly attributes?: boolean } = {}): string[] {
  const all = options.attributes === false ? '' : ' DISTSTYLE ALL'
  return [
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLE)} (
  "run_id" varchar(64) NOT NULL,
  "dataset" varchar(256) NOT NULL,
  "manifest_sha256" varchar(64) NOT NULL,
  "rows" bigint NOT NULL,
  "status" varchar(32) NOT NULL,
  "loaded_at" timestamptz NOT NULL,
  PRIMARY KEY ("run_id")
)${all}`,
    `CREATE TABLE IF NOT EXISTS ${qualify(schema, LEDGER_TABLES_TABLE)} (
  "run_id" varchar(64) NOT NULL REFERENCES ${qualify(schema, LEDGER_TABLE)} ("run_id"),
  "table_name" varchar(127) NOT NULL,
  "rows" bigint NOT NULL,
  "inserted" bigint NOT NULL,
  "updated" bigint NOT NULL,
  "held" bigint NOT NULL,
  PRIMARY KEY ("run_id", "table_name")
)${all}`,
  ]
}

/** Everything ensureTables runs, in order (parents before children). */
export function ensureTablesSql(schema: string, specs: readonly TableSpec[], options: { readonly attributes?: boolean } = {}): string[] {
  const statements = [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`]
  for (const spec of specs) {
    statements.push(createTableSql(schema, spec, options))
    if (spec.kind === 'fact') statements.push(createHeldTableSql(schema, spec), createCurrentViewSql(schema, spec))
  }
  statements.push(...createLedgerSql(schema, options))
  return statements
}
