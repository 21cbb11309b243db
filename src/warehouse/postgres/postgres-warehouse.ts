/**
 * The PostgreSQL warehouse. A run loads in one transaction: each table's
 * rows are COPYed from STDIN into a temporary staging table, dimensions are
 * upserted, facts appended, and the run is recorded in the ledger. A second
 * load of the same run finds it in the ledger and changes nothing; a load
 * killed midway rolls back whole.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { redactUrl } from '../../observe/redact.js'
import { isRetryablePostgresError, sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { qualify, quoteIdent, quoteIdentList, quoteLiteral } from '../../sql/quote.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import { messageOf, StarlineError } from '../../core/starline-error.js'
import { openDuckDb, type DuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { WarehouseError, WarehouseLoadError, WarehouseSchemaMismatchError, WarehouseUnreachableError } from '../errors.js'
import { heldTableName, inDependencyOrder, tableColumns, type ColumnType, type TableSpec } from '../../schema/table-spec.js'
import {
  DEFAULT_CAPABILITIES,
  LEDGER_TABLE,
  LEDGER_TABLES_TABLE,
  type LedgerRow,
  type LoadPlan,
  type LoadResult,
  type LoadTable,
  type Warehouse,
  type WarehouseCapabilities,
} from '../warehouse.js'
import type { LoadedTable } from '../../schema/summaries.js'
import type { PostgresWarehouseConfig } from './postgres-config.js'
import { createCurrentViewSql, createHeldTableSql, createLedgerSql, createTableSql } from './postgres-ddl.js'

export class PostgresWarehouse implements Warehouse {
  readonly capabilities: WarehouseCapabilities = DEFAULT_CAPABILITIES
  readonly #pool: pg.Pool
  readonly #ownsPool: boolean
  readonly #describe: string
  readonly #setting: string | undefined
  #duckdb: Promise<{ db: DuckDb; dir: string }> | undefined
  readonly #duckdbOptions: { readonly scratchDir?: string; readonly memoryLimit?: string }

  constructor(config: PostgresWarehouseConfig) {
    this.#duckdbOptions = Object.freeze({ ...config.duckdb })
    if ('pool' in config) {
      this.#pool = config.pool
      this.#ownsPool = false
      this.#describe = 'the warehouse database'
      this.#setting = undefined
    } else {
      this.#pool = new pg.Pool({ connectionString: config.url, max: 2, application_name: 'starline', connectionTimeoutMillis: 15_000 })
      // An idle client's error (server restart) must not crash the process.
      this.#pool.on('error', () => {})
      this.#ownsPool = true
      this.#describe = `the warehouse database ${redactUrl(config.url)}`
      this.#setting = config.setting
    }
  }

  async ensureTables(schema: string, tables: readonly TableSpec[]): Promise<void> {
    await this.#transaction(schema, async (client) => {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`)
      for (const spec of inDependencyOrder(tables)) {
        await client.query(createTableSql(schema, spec))
        if (spec.kind === 'fact') {
          await client.query(createHeldTableSql(schema, spec))
          await client.query(createCurrentViewSql(schema, spec))
        }
      }
      for (const sql of createLedgerSql(schema)) await client.query(sql)
      await checkColumns(client, schema, tables)
    })
  }

  async loadRun(plan: LoadPlan): Promise<LoadResult> {
    const csvFiles: string[] = []
    const toCsv = async (table: LoadTable, recordIdBase?: number) => {
      const file = await this.#toCsv(table, recordIdBase)
      csvFiles.push(file)
      return file
    }
    try {
      return await this.#transaction(plan.schema, async (client) => {
        // Hash joins of staging against dimensions want more than the 4 MB default.
        await client.query("SET LOCAL work_mem = '256MB'")
        const already = await client.query(`SELECT 1 FROM ${qualify(plan.schema, LEDGER_TABLE)} WHERE run_id = $1`, [plan.runId])
        if (already.rowCount) return { runId: plan.runId, status: 'already-loaded', tables: [] }
        const loaded: LoadedTable[] = []
        for (const table of plan.tables) {
          const direct = table.spec.kind === 'fact' ? await directAppendBase(client, plan, table) : undefined
          loaded.push(
            direct === undefined
              ? await loadTable(client, plan, table, await toCsv(table))
              : await copyFactsDirect(client, plan, table, await toCsv(table, direct), direct),
          )
        }
        // Facts held by earlier runs may be waiting for dimension rows this run brought.
        for (const spec of plan.facts) {
          if (plan.tables.some((t) => t.spec.name === spec.name)) continue
          const released = await releaseHeldFacts(client, plan, spec)
          if (released) loaded.push(released)
        }
        const rows = loaded.reduce((sum, t) => sum + t.rows, 0)
        await client.query(
          `INSERT INTO ${qualify(plan.schema, LEDGER_TABLE)} (run_id, dataset, manifest_sha256, rows, status) VALUES ($1, $2, $3, $4, 'loaded')`,
          [plan.runId, plan.dataset, plan.manifestSha256, rows],
        )
        for (const t of loaded) {
          await client.query(
            `INSERT INTO ${qualify(plan.schema, LEDGER_TABLES_TABLE)} (run_id, table_name, rows, inserted, updated, held) VALUES ($1, $2, $3, $4, $5, $6)`,
            [plan.runId, t.table, t.rows, t.inserted, t.updated, t.held],
          )
        }
        return { runId: plan.runId, status: 'loaded', tables: loaded }
      })
    } finally {
      await Promise.all(csvFiles.map((file) => rm(file, { force: true })))
    }
  }

  async loadedRuns(schema: string): Promise<readonly LedgerRow[]> {
    return this.#withClient(async (client) => {
      const exists = await client.query('SELECT to_regclass($1) AS t', [qualify(schema, LEDGER_TABLE)])
      if (!exists.rows[0]?.t) return []
      const result = await client.query<{ run_id: string; dataset: string; manifest_sha256: string; rows: string; status: string; loaded_at: Date }>(
        `SELECT run_id, dataset, manifest_sha256, rows::text AS rows, status, loaded_at FROM ${qualify(schema, LEDGER_TABLE)} ORDER BY run_id`,
      )
      return result.rows.map((r) => ({
        runId: r.run_id,
        dataset: r.dataset,
        manifestSha256: r.manifest_sha256,
        rows: Number(r.rows),
        status: r.status,
        loadedAt: r.loaded_at,
      }))
    })
  }

  async close(): Promise<void> {
    const duck = await this.#duckdb?.catch(() => undefined)
    if (duck) {
      duck.db.close()
      await rm(duck.dir, { recursive: true, force: true })
    }
    if (this.#ownsPool) await this.#pool.end()
  }

  /**
   * Parquet -> a CSV file PostgreSQL's COPY reads (DuckDB writes NULL
   * unquoted-empty and '' as ""). With `recordIdBase`, facts get their record
   * ids here, numbered in append order after it.
   */
  async #toCsv(table: LoadTable, recordIdBase?: number): Promise<string> {
    this.#duckdb ??= (async () => {
      const dir = await mkdtemp(join(this.#duckdbOptions.scratchDir ?? tmpdir(), 'starline-load-'))
      const memoryLimit = this.#duckdbOptions.memoryLimit
      return { db: await openDuckDb({ scratchDir: dir, ...(memoryLimit ? { memoryLimit } : {}) }), dir }
    })()
    const { db, dir } = await this.#duckdb
    const out = join(dir, `${table.spec.name}-${randomUUID()}.csv`)
    const columns = quoteIdentList(table.spec.columns.map((c) => c.name))
    const source = `read_parquet(${quoteLiteral(table.path)})`
    const select =
      recordIdBase === undefined
        ? `SELECT ${columns} FROM ${source}`
        : `SELECT ${Math.trunc(recordIdBase)}::BIGINT + row_number() OVER (ORDER BY ${quoteIdentList(table.spec.appendOrder ?? [])}) AS record_id, ${columns} ` +
          `FROM ${source} ORDER BY record_id`
    await db.run(`COPY (${select}) TO ${quoteLiteral(out)} (FORMAT csv, HEADER false)`)
    return out
  }

  /** A transaction holding the schema's advisory lock, so loads of one schema never interleave. */
  async #transaction<T>(schema: string, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#withClient((client) =>
      inTransaction(client, async () => {
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended('starline:' || $1, 0))", [schema])
        return work(client)
      }),
    )
  }

  async #withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient
    try {
      client = await this.#pool.connect()
    } catch (error) {
      const hint = this.#setting ? ` Check ${this.#setting}.` : ''
      throw new WarehouseUnreachableError(`Cannot connect to ${this.#describe}: ${messageOf(error)}.${hint}`, {
        cause: error,
        retryable: isRetryablePostgresError(error),
      })
    }
    try {
      return await work(client)
    } catch (error) {
      if (error instanceof StarlineError) throw error
      throw new WarehouseError(`${this.#describe} failed: ${messageOf(error)}`, {
        cause: error,
        retryable: isRetryablePostgresError(error),
      })
    } finally {
      client.release()
    }
  }
}

async function loadTable(client: pg.PoolClient, plan: LoadPlan, table: LoadTable, csvPath: string): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  try {
    // An empty dimension takes its first load straight, without staging: its keys are unique
    // (the transform checked them), and there is nothing to merge with.
    if (spec.kind === 'dimension' && !(await client.query(`SELECT 1 FROM ${target} LIMIT 1`)).rowCount) {
      assertCount(plan, spec, await copyCsvInto(client, plan, spec, target, columns, csvPath), table.rows)
      return { table: spec.name, rows: table.rows, inserted: table.rows, updated: 0, held: 0 }
    }
    const stage = await createStage(client, plan, spec)
    assertCount(plan, spec, await copyCsvInto(client, plan, spec, stage, columns, csvPath), table.rows)
    // Temporary tables get no statistics on their own; the merge plans need them.
    await client.query(`ANALYZE ${stage}`)
    return spec.kind === 'fact' ? await appendFacts(client, plan, stage, spec, table.rows) : await upsertDimension(client, target, stage, spec, table.rows)
  } catch (error) {
    if (error instanceof StarlineError) throw error
    throw new WarehouseLoadError(`Cannot load run ${plan.runId} into "${spec.name}": ${messageOf(error)}`, {
      cause: error,
      retryable: isRetryablePostgresError(error),
      context: { runId: plan.runId, table: spec.name },
    })
  }
}

async function releaseHeldFacts(client: pg.PoolClient, plan: LoadPlan, spec: TableSpec): Promise<LoadedTable | undefined> {
  const waiting = await client.query(`SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))} LIMIT 1`)
  if (!waiting.rowCount) return undefined
  const stage = await createStage(client, plan, spec)
  return appendFacts(client, plan, stage, spec, 0)
}

/** A temporary staging table with the target's data columns and types, without its constraints. */
async function createStage(client: pg.PoolClient, plan: LoadPlan, spec: TableSpec): Promise<string> {
  const stage = quoteIdent(`_starline_stage_${spec.name}`)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  await client.query(`CREATE TEMP TABLE ${stage} ON COMMIT DROP AS SELECT ${columns} FROM ${qualify(plan.schema, spec.name)} WITH NO DATA`)
  return stage
}

/**
 * Insert new keys, update changed ones, leave identical rows untouched. Two
 * set-based statements (a join and an anti-join) instead of a conflict check
 * per row; the schema's advisory lock keeps other loads out in between.
 */
async function upsertDimension(client: pg.PoolClient, target: string, stage: string, spec: TableSpec, rows: number): Promise<LoadedTable> {
  const key = spec.primaryKey ?? []
  const names = spec.columns.map((c) => c.name)
  const others = names.filter((n) => !key.includes(n))
  const columns = quoteIdentList(names)
  const matches = key.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ')
  let updated = 0
  if (others.length > 0) {
    const result = await client.query(
      `UPDATE ${target} t SET ${others.map((n) => `${quoteIdent(n)} = s.${quoteIdent(n)}`).join(', ')} FROM ${stage} s
        WHERE ${matches} AND (${others.map((n) => `t.${quoteIdent(n)}`).join(', ')}) IS DISTINCT FROM (${others.map((n) => `s.${quoteIdent(n)}`).join(', ')})`,
    )
    updated = result.rowCount ?? 0
  }
  const inserted = await client.query(
    `INSERT INTO ${target} (${columns}) SELECT ${columns} FROM ${stage} s WHERE NOT EXISTS (SELECT 1 FROM ${target} t WHERE ${matches})`,
  )
  return { table: spec.name, rows, inserted: inserted.rowCount ?? 0, updated, held: 0 }
}

/**
 * The ctids of `relation` rows (alias s) with a foreign key that does not
 * resolve: one pass, a hash join per key, rather than a probe per row.
 */
function unresolvedRowsSql(plan: LoadPlan, spec: TableSpec, relation: string, where = 'true'): string | undefined {
  const references = spec.columns.filter((c) => c.references)
  if (references.length === 0) return undefined
  const joins = references
    .map((c, i) => `LEFT JOIN ${qualify(plan.schema, c.references!.table)} p${i} ON p${i}.${quoteIdent(c.references!.column)} = s.${quoteIdent(c.name)}`)
    .join(' ')
  const missing = references.map((c, i) => `(s.${quoteIdent(c.name)} IS NOT NULL AND p${i}.${quoteIdent(c.references!.column)} IS NULL)`).join(' OR ')
  return `SELECT s.ctid FROM ${relation} s ${joins} WHERE (${where}) AND (${missing})`
}

/**
 * Moves the rows of `relation` whose foreign keys do not resolve to the
 * fact's held table, stamped with `heldSince` (SQL; $1 is this run's id).
 * Returns how many moved.
 */
async function moveUnresolvedToHeld(
  client: pg.PoolClient,
  plan: LoadPlan,
  spec: TableSpec,
  relation: string,
  options: { readonly where?: string; readonly heldSince: string },
): Promise<number> {
  const unresolved = unresolvedRowsSql(plan, spec, relation, options.where)
  if (unresolved === undefined) return 0
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const moved = await client.query(
    `WITH waiting AS (DELETE FROM ${relation} WHERE ctid IN (${unresolved}) RETURNING *)
     INSERT INTO ${qualify(plan.schema, heldTableName(spec))} (${columns}, held_since_run) SELECT ${columns}, ${options.heldSince} FROM waiting`,
    [plan.runId],
  )
  return moved.rowCount ?? 0
}

/**
 * The record id a bulk append of `table` continues from, when the direct
 * path applies: a bulk append, and no earlier rows held (those need the
 * staging path's re-check). Undefined otherwise.
 */
async function directAppendBase(client: pg.PoolClient, plan: LoadPlan, table: LoadTable): Promise<number | undefined> {
  const { spec } = table
  const result = await client.query<{ last: string; held: boolean }>(
    `SELECT (SELECT coalesce(max(${quoteIdent(spec.recordId!)}), 0) FROM ${qualify(plan.schema, spec.name)})::text AS last,
            EXISTS (SELECT 1 FROM ${qualify(plan.schema, heldTableName(spec))}) AS held`,
  )
  const row = result.rows[0]!
  return !row.held && isBulk(table.rows, Number(row.last)) ? Number(row.last) : undefined
}

/**
 * A bulk fact append without staging: the rows arrive numbered and are
 * COPYed straight into the fact table (foreign keys dropped meanwhile), then
 * any row whose dimension row is missing moves to the held table. Half the
 * writes of staging then inserting.
 */
async function copyFactsDirect(client: pg.PoolClient, plan: LoadPlan, table: LoadTable, csvPath: string, base: number): Promise<LoadedTable> {
  const { spec } = table
  const target = qualify(plan.schema, spec.name)
  const recordId = quoteIdent(spec.recordId!)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  let held = 0
  // Rows whose dimension row is missing are looked for only if re-adding the keys finds one:
  // they are rare, and the search costs a join per key over the new rows.
  const moveUnresolved = async () => {
    held = await moveUnresolvedToHeld(client, plan, spec, target, { where: `s.${recordId} > ${Math.trunc(base)}`, heldSince: '$1' })
  }
  await withoutForeignKeyTriggers(
    client,
    target,
    async () => {
      assertCount(plan, spec, await copyCsvInto(client, plan, spec, target, `${recordId}, ${columns}`, csvPath), table.rows)
    },
    moveUnresolved,
    base === 0,
  )
  await syncSequence(client, target, spec)
  return { table: spec.name, rows: table.rows, inserted: table.rows - held, updated: 0, held }
}

/** Streams a CSV file into `relation` with COPY FROM STDIN; returns the rows copied. */
async function copyCsvInto(client: pg.PoolClient, plan: LoadPlan, spec: TableSpec, relation: string, columns: string, csvPath: string): Promise<number> {
  const copy = client.query(copyFrom(`COPY ${relation} (${columns}) FROM STDIN WITH (FORMAT csv)`))
  try {
    await pipeline(createReadStream(csvPath), copy)
  } catch (error) {
    throw new WarehouseLoadError(`Cannot load run ${plan.runId}: COPY into "${spec.name}" failed: ${messageOf(error)}`, {
      cause: error,
      retryable: isRetryablePostgresError(error),
      context: { runId: plan.runId, table: spec.name },
    })
  }
  return copy.rowCount
}

function assertCount(plan: LoadPlan, spec: TableSpec, copied: number, expected: number): void {
  if (copied !== expected) {
    throw new WarehouseLoadError(
      `Cannot load run ${plan.runId}: "${spec.name}" holds ${copied} rows but its manifest says ${expected}. The processed file is damaged; transform the run again.`,
      { context: { runId: plan.runId, table: spec.name } },
    )
  }
}

/** Keeps the serial's sequence ahead of the ids, for anyone inserting by hand. */
async function syncSequence(client: pg.PoolClient, target: string, spec: TableSpec): Promise<void> {
  await client.query(
    `SELECT setval(pg_get_serial_sequence($1, $2), coalesce((SELECT max(${quoteIdent(spec.recordId!)}) FROM ${target}), 0) + 1, false)`,
    [target, spec.recordId],
  )
}

/**
 * Append every row as a new fact, except rows whose dimension rows have not
 * arrived: those wait in the held table (with rows held by earlier runs)
 * and are appended by the first load after their dimensions exist, so the
 * foreign keys always hold and nothing is dropped.
 *
 * Record ids continue from the table's maximum in a fixed order, so a run
 * loads with the same ids whether or not an earlier attempt was killed.
 */
async function appendFacts(client: pg.PoolClient, plan: LoadPlan, stage: string, spec: TableSpec, rows: number): Promise<LoadedTable> {
  const target = qualify(plan.schema, spec.name)
  const held = qualify(plan.schema, heldTableName(spec))
  const recordId = quoteIdent(spec.recordId!)
  const columns = quoteIdentList(spec.columns.map((c) => c.name))
  const order = quoteIdentList(spec.appendOrder ?? spec.columns.map((c) => c.name))

  await client.query(`ALTER TABLE ${stage} ADD COLUMN _held_since text`)
  await client.query(
    `WITH released AS (DELETE FROM ${held} RETURNING *) INSERT INTO ${stage} (${columns}, _held_since) SELECT ${columns}, held_since_run FROM released`,
  )
  // Rows released above keep the run that first held them.
  const heldRows = await moveUnresolvedToHeld(client, plan, spec, stage, { heldSince: 'coalesce(_held_since, $1)' })
  const [{ last, waiting }] = (
    await client.query<{ last: string; waiting: string }>(
      `SELECT (SELECT coalesce(max(${recordId}), 0) FROM ${target})::text AS last, (SELECT count(*) FROM ${stage})::text AS waiting`,
    )
  ).rows as [{ last: string; waiting: string }]
  const append = () =>
    client.query(
      `INSERT INTO ${target} (${recordId}, ${columns})
       SELECT $1::bigint + row_number() OVER (ORDER BY ${order}), ${columns} FROM ${stage}`,
      [last],
    )
  // Record ids are dense but for rows moved to hold, so `last` stands in for the table's size.
  const appended = isBulk(Number(waiting), Number(last)) ? await withoutForeignKeyTriggers(client, target, append) : await append()
  await syncSequence(client, target, spec)
  return { table: spec.name, rows, inserted: appended.rowCount ?? 0, updated: 0, held: heldRows }
}

/** Large enough, next to what the table holds, that one validation pass beats a check per row. */
function isBulk(rows: number, existing: number): boolean {
  return rows >= 1_000 && rows * 10 >= existing
}

/**
 * PostgreSQL checks foreign keys row by row, one index probe per key per
 * row (measured: 90% of a 16,000-row fact append). For a bulk append the
 * keys are dropped and re-added in the same transaction: re-adding checks
 * the whole table in one join. The held-row check has already made sure
 * every reference resolves. Takes an exclusive lock on the fact table until
 * commit, as any bulk load would.
 */
async function withoutForeignKeyTriggers<T>(
  client: pg.PoolClient,
  target: string,
  work: () => Promise<T>,
  /** Called when re-adding a key finds a row it rejects: make every row valid, then keys are re-added again. */
  repair?: () => Promise<void>,
  /**
   * Also drop the primary key (an empty fact table: nothing references it):
   * building its index once, sorted, beats maintaining it row by row.
   */
  withPrimaryKey = false,
): Promise<T> {
  // With only pg_catalog on the path, the definitions name every table with its schema.
  const [{ was }] = (await client.query<{ was: string }>("SELECT current_setting('search_path') AS was")).rows as [{ was: string }]
  await client.query("SELECT set_config('search_path', 'pg_catalog', true)")
  try {
    const keys = await client.query<{ name: string; definition: string }>(
      `SELECT conname AS name, pg_get_constraintdef(oid) AS definition FROM pg_constraint
        WHERE conrelid = $1::regclass AND contype = ANY($2::"char"[]) ORDER BY contype = 'p' DESC, conname`,
      [target, withPrimaryKey ? ['f', 'p'] : ['f']],
    )
    for (const key of keys.rows) await client.query(`ALTER TABLE ${target} DROP CONSTRAINT ${quoteIdent(key.name)}`)
    const result = await work()
    // The definitions are PostgreSQL's own rendering of constraints it holds.
    const readd = async () => {
      for (const key of keys.rows) await client.query(`ALTER TABLE ${target} ADD CONSTRAINT ${quoteIdent(key.name)} ${key.definition}`)
    }
    await client.query('SAVEPOINT starline_foreign_keys')
    try {
      await readd()
    } catch (error) {
      if (repair === undefined || sqlStateOf(error) !== '23503') throw error
      await client.query('ROLLBACK TO SAVEPOINT starline_foreign_keys')
      await repair()
      await readd()
    }
    await client.query('RELEASE SAVEPOINT starline_foreign_keys')
    return result
  } finally {
    await client.query("SELECT set_config('search_path', $1, true)", [was])
  }
}

/** Existing tables must have every column of their spec, with a compatible type. */
async function checkColumns(client: pg.PoolClient, schema: string, tables: readonly TableSpec[]): Promise<void> {
  const result = await client.query<{ table_name: string; column_name: string; data_type: string; precision: number | null; scale: number | null }>(
    `SELECT table_name, column_name, data_type, numeric_precision AS precision, numeric_scale AS scale
       FROM information_schema.columns WHERE table_schema = $1 AND table_name = ANY($2::text[])`,
    [schema, tables.map((t) => t.name)],
  )
  const actual = new Map(result.rows.map((r) => [`${r.table_name}.${r.column_name}`, r]))
  const problems: string[] = []
  for (const spec of tables) {
    for (const column of tableColumns(spec)) {
      const found = actual.get(`${spec.name}.${column.name}`)
      if (!found) {
        problems.push(`table "${spec.name}" has no column "${column.name}"`)
      } else if (!typeMatches(column.type, found.data_type, found.precision, found.scale)) {
        problems.push(`column "${spec.name}"."${column.name}" is ${found.data_type}, expected ${column.type}`)
      }
    }
  }
  if (problems.length > 0) {
    throw new WarehouseSchemaMismatchError(
      `The warehouse schema "${schema}" does not match what starline loads: ${problems.join('; ')}. ` +
        'Add or fix the columns, or drop the tables so they are recreated.',
    )
  }
}

function typeMatches(expected: ColumnType, dataType: string, precision: number | null, scale: number | null): boolean {
  const decimal = /^decimal\((\d+),(\d+)\)$/.exec(expected)
  if (decimal) return dataType === 'numeric' && precision === Number(decimal[1]) && scale === Number(decimal[2])
  const names: Record<string, readonly string[]> = {
    integer: ['integer'],
    bigint: ['bigint'],
    text: ['text', 'character varying'],
    varchar: ['character varying', 'text'],
    date: ['date'],
    time: ['time without time zone'],
    timestamp: ['timestamp without time zone'],
    boolean: ['boolean'],
    double: ['double precision'],
  }
  return names[expected]?.includes(dataType) ?? false
}
