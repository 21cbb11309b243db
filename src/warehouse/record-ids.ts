/**
 * How a fact file's rows get their record ids: the table's maximum id plus
 * each row's place in the table's append order (the spec's appendOrder), so
 * a run loads with the same ids whether or not an earlier attempt was killed.
 * Shared by the engines that number in DuckDB while reading the Parquet file.
 */
import { quoteIdent, quoteIdentList, quoteLiteral } from '../sql/quote.js'
import type { LoadTable } from './warehouse.js'

/** DuckDB's name for the row-position column `read_parquet(..., file_row_number = true)` adds. */
const FILE_ROW_NUMBER = 'file_row_number'

/**
 * Whether the file's rows already lie in the table's append order (the
 * transform sorted them, and the processed manifest says so), so their
 * position in the file is their place in that order.
 */
export function fileInAppendOrder(table: LoadTable): boolean {
  const order = table.spec.appendOrder
  const orderedBy = table.orderedBy
  if (order === undefined || order.length === 0 || orderedBy === undefined) return false
  // A data column of that name would clash with the position column.
  if (table.spec.columns.some((c) => c.name === FILE_ROW_NUMBER)) return false
  return orderedBy.length === order.length && order.every((column, index) => orderedBy[index] === column)
}

/**
 * A DuckDB SELECT of the record id (first, unnamed) and `columns` of the
 * Parquet file at `path`, ids numbered in append order after `base`. A file
 * in append order is numbered by row position: one pass that streams. Any
 * other file (older lakes) is numbered by a window over the whole file,
 * which holds every row in the process's memory (the window's one
 * partition does not spill: a first load peaked at 481-493 MB at scale 100, 691 MB at scale 300);
 * `inIdOrder` then sorts its output by id too (a file-order read already is).
 */
export function numberedParquetSelect(table: LoadTable, path: string, base: number, columns: string, inIdOrder = false): string {
  const start = `${Math.trunc(base)}::BIGINT`
  if (fileInAppendOrder(table)) {
    return `SELECT ${start} + 1 + ${quoteIdent(FILE_ROW_NUMBER)}, ${columns} FROM read_parquet(${quoteLiteral(path)}, file_row_number = true)`
  }
  return (
    `SELECT ${start} + row_number() OVER (ORDER BY ${quoteIdentList(table.spec.appendOrder ?? [])}), ${columns} ` +
    `FROM read_parquet(${quoteLiteral(path)})${inIdOrder ? ' ORDER BY 1' : ''}`
  )
}
