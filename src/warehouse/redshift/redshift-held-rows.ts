/**
 * Facts whose dimension row has not arrived. Redshift declares foreign keys
 * but never checks them, so a query finds the rows whose references do not
 * resolve and moves them to the fact's held table; the first load after
 * their dimension rows exist releases them (they rejoin the stage, keeping
 * the run that first held them, and are checked again).
 *
 * NOTE: the held table is emptied with DELETE, never TRUNCATE: in Redshift
 * TRUNCATE commits the open transaction.
 */
import { qualify, quoteIdent, quoteIdentList } from '../../sql/quote.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import type { Statement } from './redshift-session.js'
import { stageTable } from './redshift-staging.js'
import { heldSinceColumn, heldSinceStageColumn } from '../table-ddl.js'


/**
 * True for a row with a reference that does not resolve. NOT IN against
 * the parent's key (NOT NULL, so NOT IN is NULL-safe) needs no correlation,
 * which Redshift's DELETE (no alias) could not name.
 */
export function unresolvedPredicate(schema: string, spec: TableSpec): string | undefined {
  const references = spec.columns.filter((c) => c.references)
  if (references.length === 0) return undefined
  return references
    .map((c) => {
      const parent = `SELECT ${quoteIdent(c.references!.column)} FROM ${qualify(schema, c.references!.table)}`
      return `(${quoteIdent(c.name)} IS NOT NULL AND ${quoteIdent(c.name)} NOT IN (${parent}))`
    })
    .join(' OR ')
}

/** Whether a fact has rows waiting: a fact the run did not bring is staged only when it has. */
export function hasHeldRowsSql(schema: string, spec: TableSpec): string {
  return `SELECT count(*)::varchar AS "n" FROM (SELECT 1 FROM ${qualify(schema, heldTableName(spec))} LIMIT 1) AS "waiting"`
}

/** Staging phase: the stage gains the held-since column (after COPY, which maps columns by position). */
export function addHeldSinceColumnSql(schema: string, runId: string, spec: TableSpec): string {
  return `ALTER TABLE ${stageTable(schema, runId, spec)} ADD COLUMN ${quoteIdent(heldSinceStageColumn(spec))} varchar(64)`
}

/** Every held row rejoins the stage, keeping the run that first held it. */
export function releaseHeldSql(schema: string, runId: string, spec: TableSpec): Statement[] {
  const held = qualify(schema, heldTableName(spec))
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  return [
    { sql: `INSERT INTO ${stageTable(schema, runId, spec)} (${columns}, ${quoteIdent(heldSinceStageColumn(spec))}) SELECT ${columns}, ${quoteIdent(heldSinceColumn(spec))} FROM ${held}` },
    { sql: `DELETE FROM ${held}` },
  ]
}

/** Rows of the stage that still do not resolve move to the held table ($run_id for this run's own rows). */
export function holdUnresolvedSql(schema: string, runId: string, spec: TableSpec): Statement[] {
  const predicate = unresolvedPredicate(schema, spec)
  if (predicate === undefined) return []
  const stage = stageTable(schema, runId, spec)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  return [
    {
      sql:
        `INSERT INTO ${qualify(schema, heldTableName(spec))} (${columns}, ${quoteIdent(heldSinceColumn(spec))}) ` +
        `SELECT ${columns}, coalesce(${quoteIdent(heldSinceStageColumn(spec))}, :run_id) FROM ${stage} WHERE ${predicate}`,
      params: { run_id: runId },
    },
    { sql: `DELETE FROM ${stage} WHERE ${predicate}` },
  ]
}
