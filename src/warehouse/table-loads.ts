/**
 * The warehouse side of the Parquet loader: fill whole tables from checked
 * Parquet files, atomically, and remember which files each table last
 * loaded. Small on purpose: PostgreSQL, DuckDB and Redshift implement it
 * beside their pipeline warehouses.
 */
import type { LoadMode, LoaderColumn } from '../schema/parquet-table.js'
import { LoaderLedgerChangedError } from './errors.js'

/** The loader's own ledger in the target schema: one row per table, its last loaded file set. */
export const LOADER_LEDGER_TABLE = '_starline_parquet_loads'

/** One Parquet file, checked against its table's columns. */
export interface TableLoadFile {
  /** Key relative to the table's prefix. */
  readonly key: string
  /** Absolute `file://` or `s3://` URL (what Redshift's manifest lists). */
  readonly url: string
  /** A local copy DuckDB reads (the file itself on a filesystem lake). */
  readonly localPath: string
  readonly size: number
  /** Hex SHA-256 of the bytes. */
  readonly sha256: string
  readonly rows: number
}

/** A file as the ledger records it. */
export interface RecordedFile {
  readonly url: string
  readonly size: number
  readonly sha256: string
}

/** What the ledger says about a table's last load. */
export interface LastLoad {
  readonly fingerprint: string
  /** The recorded file list, as `ledgerFiles` wrote it (JSON). */
  readonly files: string
}

/** One table to fill in a run. */
export interface TableLoad {
  readonly name: string
  readonly mode: LoadMode
  /** Merge key (merge mode). */
  readonly key: readonly string[]
  readonly columns: readonly LoaderColumn[]
  readonly prefix: string
  readonly files: readonly TableLoadFile[]
  /** Rows in all files together. */
  readonly rows: number
  /** Identifies the file set and the table's spec: an equal fingerprint means nothing new to load. */
  readonly fingerprint: string
  /**
   * The files the ledger records after this load, when more than `files`:
   * an append records the files it appended before too, so they are never
   * appended twice.
   */
  readonly recorded?: readonly RecordedFile[]
  /**
   * The fingerprint of the ledger row this load was planned from (null: no
   * row). Under its lock, the engine refuses the load with
   * LoaderLedgerChangedError when the row differs now, so two overlapping
   * loads never append the same files twice. Undefined: not checked (--force).
   */
  readonly basis?: string | null
}

export interface TableLoadResult {
  readonly table: string
  readonly mode: LoadMode
  /** Rows the files brought (inserted or replaced). */
  readonly rows: number
  /** The table did not exist before this run. */
  readonly created: boolean
}

export interface TableLoadsCapabilities {
  /**
   * The engine maps Parquet columns to table columns by position (Redshift's
   * COPY), so every file's column order must equal the spec's. Default false.
   */
  readonly columnsByPosition: boolean
  /** `varchar(n)` counts bytes, not characters (Redshift). Default false. */
  readonly varcharCountsBytes: boolean
  /**
   * The engine converts file values on the way in (a text column of digits
   * into bigint; a number into varchar). Redshift's Parquet COPY does not:
   * text must load into text, and other types into their kin. Default true.
   */
  readonly convertsTypes: boolean
  /**
   * The longest name the engine keeps, in UTF-8 bytes (PostgreSQL cuts names
   * at 63 bytes without a word, so two long names could become one table).
   * Longer schema, table and column names are refused before anything loads.
   * Default 63.
   */
  readonly maxIdentifierBytes: number
  /**
   * The most UTF-8 bytes a `text` value may hold (Redshift: the loader's text
   * is VARCHAR(65535), counted in bytes); a longer value is refused before
   * anything loads. Default undefined: no limit a value would reach.
   */
  readonly maxTextBytes?: number
  /**
   * The engine folds quoted names to lower case (Redshift, unless
   * enable_case_sensitive_identifier is on), so `"Users"` and `"users"` are
   * one table: names with upper-case letters are refused before anything
   * loads. Default false.
   */
  readonly foldsNamesToLowerCase: boolean
  /**
   * The URL schemes the engine reads files from itself (Redshift's COPY: only
   * `s3://`); a prefix of another scheme is refused before any file is read.
   * Default undefined: the loader reads the files, from any lake.
   */
  readonly prefixSchemes?: readonly string[]
}

export const DEFAULT_TABLE_LOADS_CAPABILITIES: TableLoadsCapabilities = Object.freeze({
  columnsByPosition: false,
  varcharCountsBytes: false,
  convertsTypes: true,
  maxIdentifierBytes: 63,
  foldsNamesToLowerCase: false,
})

export interface TableLoads {
  readonly capabilities: TableLoadsCapabilities
  /** Each table's last load in `schema`, from the ledger (empty before the first load). */
  lastLoads(schema: string): Promise<ReadonlyMap<string, LastLoad>>
  /**
   * Creates the schema and missing tables, then fills every table by its
   * mode and records it in the ledger, all in one transaction: a failure
   * leaves every table as it was.
   */
  load(schema: string, tables: readonly TableLoad[]): Promise<readonly TableLoadResult[]>
  close(): Promise<void>
}

/** Throws LoaderLedgerChangedError when a table's ledger row is no longer the one its load was planned from. */
export function assertLedgerBasis(schema: string, table: TableLoad, current: string | null): void {
  if (table.basis !== undefined && table.basis !== current) throw new LoaderLedgerChangedError(schema, table.name)
}

/** The ledger row's file list: what the table holds, exactly. */
export function ledgerFiles(table: TableLoad): string {
  return JSON.stringify((table.recorded ?? table.files).map((f) => ({ url: f.url, size: f.size, sha256: f.sha256 })))
}

/** The files a ledger row records; undefined when it holds no list (Redshift records a manifest past 64 KB). */
export function parseLedgerFiles(text: string): RecordedFile[] | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    return Array.isArray(parsed) ? (parsed as RecordedFile[]) : undefined
  } catch {
    return undefined
  }
}
