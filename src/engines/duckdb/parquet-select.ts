/**
 * The DuckDB query that reads a table's Parquet files as the spec's columns:
 * by name (files may order their columns differently, and part files may
 * differ in physical type), each cast to its SQL type. The loader checked
 * beforehand that every value fits and casts back unchanged (src/loader/
 * parquet-files.ts misfitSql), so the casts cannot fail or round.
 */
import { duckdbColumnType, type LoaderColumn } from '../../schema/parquet-table.js'
import { quoteIdent, quoteLiteral } from '../../sql/quote.js'

/**
 * `read_parquet([...])` over local files, columns matched by name across
 * files. Folder names like `batch=2/` are not read as Hive partition columns:
 * the spec lists exactly the columns the files hold.
 */
export function readParquetSql(paths: readonly string[]): string {
  return `read_parquet([${paths.map(quoteLiteral).join(', ')}], union_by_name = true, hive_partitioning = false)`
}

/** `SELECT CAST("c" AS T) AS "c", ... FROM read_parquet(...)`, in spec order. */
export function parquetSelectSql(columns: readonly LoaderColumn[], paths: readonly string[]): string {
  const list = columns.map((c) => `CAST(${quoteIdent(c.name)} AS ${duckdbColumnType(c.type)}) AS ${quoteIdent(c.name)}`)
  return `SELECT ${list.join(', ')} FROM ${readParquetSql(paths)}`
}
