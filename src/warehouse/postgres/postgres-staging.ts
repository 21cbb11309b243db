/**
 * Bytes in: Parquet files become COPY input, COPY streams them into a table
 * or a temporary staging table, and the count is checked against the
 * manifest. PostgreSQL cannot read Parquet, so DuckDB (in process) turns
 * each file into CSV first (NULL unquoted-empty, '' as "").
 */
import { makeScratchDir, removeScratchDir } from '../../core/scratch-space.js'
import { createReadStream } from 'node:fs'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { openDuckDb, type DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { qualify, quoteIdent, quoteIdentList, quoteLiteral } from '../../sql/quote.js'
import type { TableSpec } from '../../schema/table-spec.js'
import { WarehouseLoadError } from '../errors.js'
import type { LoadPlan, LoadTable } from '../warehouse.js'
import { numberedParquetSelect } from '../record-ids.js'

export interface ParquetToCsvOptions {
  readonly scratchDir?: string
  readonly memoryLimit?: string
}

/** One DuckDB for the warehouse's lifetime, opened on first use, converting Parquet to CSV files. */
export class ParquetToCsv {
  readonly #options: ParquetToCsvOptions
  #duckdb: Promise<{ db: DuckDb; dir: string }> | undefined

  constructor(options: ParquetToCsvOptions) {
    this.#options = Object.freeze({ ...options })
  }

  /**
   * A CSV file of the table's data columns. With `recordIdBase`, facts get
   * their record ids here, numbered in append order after it. The caller
   * removes the file.
   */
  async convert(table: LoadTable, recordIdBase?: number): Promise<string> {
    this.#duckdb ??= (async () => {
      const dir = await makeScratchDir(this.#options.scratchDir ?? tmpdir(), 'starline-load')
      const memoryLimit = this.#options.memoryLimit
      // One thread: the conversion runs beside PostgreSQL's COPY of the previous table, which
      // wants the other core, and a fact's numbering sort then holds one thread's buffers, not
      // one per core (measured on fact_payment at scale 100: peak RSS 438 -> 333 MB, CPU 2.8 -> 2.2 s).
      return { db: await openDuckDb({ scratchDir: dir, threads: 1, ...(memoryLimit ? { memoryLimit } : {}) }), dir }
    })()
    const { db, dir } = await this.#duckdb
    if (table.path === undefined) throw new Error(`No local file for "${table.spec.name}": this engine reads local Parquet files.`)
    const out = join(dir, `${table.spec.name}-${randomUUID()}.csv`)
    const columns = quoteIdentList(table.spec.columns.map((c) => c.name))
    // The CSV is positional: the record id goes first, under no name a model column could also have.
    const select =
      recordIdBase === undefined
        ? `SELECT ${columns} FROM read_parquet(${quoteLiteral(table.path)})`
        : numberedParquetSelect(table, table.path, recordIdBase, columns, true)
    await db.run(`COPY (${select}) TO ${quoteLiteral(out)} (FORMAT csv, HEADER false)`)
    return out
  }

  async close(): Promise<void> {
    const duck = await this.#duckdb?.catch(() => undefined)
    if (duck) {
      duck.db.close()
      await removeScratchDir(duck.dir)
    }
  }
}

/**
 * Runs `load` over `tables` in order, each with its CSV, while the next
 * table's CSV is being made: DuckDB converts on its own threads while
 * PostgreSQL parses the COPY, so the two overlap instead of taking turns.
 * Every file made (even one a failure left unused) is pushed to `files`
 * for the caller to remove, and no conversion is left running on return.
 */
export async function inConversionOrder(
  tables: readonly LoadTable[],
  convert: (table: LoadTable) => Promise<string>,
  files: string[],
  load: (table: LoadTable, csv: Promise<string>) => Promise<void>,
): Promise<void> {
  const start = (index: number): Promise<string> | undefined => {
    const table = tables[index]
    if (table === undefined) return undefined
    const made = convert(table).then((path) => {
      files.push(path)
      return path
    })
    // Awaited by load() or by the finally below; never an unhandled rejection meanwhile.
    made.catch(() => {})
    return made
  }
  let next = start(0)
  try {
    for (let index = 0; index < tables.length; index++) {
      const csv = next!
      // Wait for this table's CSV before starting the next: DuckDB runs one statement at a time.
      await csv.catch(() => {})
      next = start(index + 1)
      await load(tables[index]!, csv)
    }
  } finally {
    await next?.catch(() => {})
  }
}

/** A temporary staging table with the target's data columns and types, without its constraints. */
export async function createStage(client: pg.ClientBase, plan: LoadPlan, spec: TableSpec): Promise<string> {
  const stage = quoteIdent(`_starline_stage_${spec.name}`)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS SELECT ${columns} FROM ${qualify(plan.schema, spec.name)} WITH NO DATA`)
  return stage
}

/** Streams a CSV file into `relation` with COPY FROM STDIN and checks the count against the manifest. */
export async function copyCsvInto(
  client: pg.ClientBase,
  plan: LoadPlan,
  table: LoadTable,
  relation: string,
  columns: string,
  csvPath: string,
): Promise<void> {
  const copy = client.query(copyFrom(`COPY ${relation} (${columns}) FROM STDIN WITH (FORMAT csv)`))
  await pipeline(createReadStream(csvPath), copy)
  if (copy.rowCount !== table.rows) {
    throw new WarehouseLoadError(
      `Cannot load run ${plan.runId}: "${table.spec.name}" holds ${copy.rowCount} rows but its manifest says ${table.rows}. ` +
        'The processed file is damaged; transform the run again.',
      { context: { runId: plan.runId, table: table.spec.name } },
    )
  }
}
