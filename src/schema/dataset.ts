/**
 * A dataset is what the generic pipeline needs to know about one source:
 * the tables to extract, and the models that build the warehouse from them.
 */
import type { TableSpec } from './table-spec.js'

export interface SourceTableSpec {
  readonly name: string
  readonly primaryKey: string
  /** The column whose growth marks a new row version. */
  readonly watermarkColumn: string
}

export interface ModelSpec {
  /** The table the model builds; its output must match this contract. */
  readonly table: TableSpec
  /**
   * The model's SQL file (named after the table). The relations it reads
   * (source tables, `current_<table>` views, earlier models) are its inputs:
   * a model runs when one of them changed in the run.
   */
  readonly sqlFile: URL
}

/** A rule a source row must meet; rows that break one are quarantined with `reason`. */
export interface RowCheck {
  readonly reason: string
  /** A DuckDB predicate over the row's typed columns, true when the row is bad. */
  readonly failsWhen: string
}

/** A small fixed table models may join (dbt's seeds), e.g. ISO currency names. */
export interface Seed {
  readonly name: string
  readonly columns: readonly string[]
  rows(): readonly (readonly string[])[]
}

export interface Dataset {
  readonly name: string
  readonly sourceTables: readonly SourceTableSpec[]
  readonly seeds: readonly Seed[]
  /**
   * Tables small enough to hash whole each reconciliation, to notice rows
   * edited without their watermark moving.
   */
  readonly reconcileTables: readonly string[]
  /** Checks per source table, on top of the types and NOT NULLs of the source catalog. */
  readonly checks: Readonly<Record<string, readonly RowCheck[]>>
  /** In run order: a model may read the output of models before it. */
  readonly models: readonly ModelSpec[]
}
