/**
 * A first load on PostgreSQL on two connections. The normal load is one
 * transaction on one connection (exactly once, with its ledger row), so one
 * server process parses every COPY on one core. When the schema holds
 * nothing yet (every starline table empty, the ledger without a run), the
 * run's tables are built instead in a side schema, each table in its own
 * transaction on one of two builder connections (a dimension before the
 * facts that reference it), with the very code the normal load runs
 * (loadDimension, loadFacts): same record ids, same held rows, same keys.
 * The facts' foreign keys are added last, as the normal load leaves them.
 * Then the load's own transaction, which has held the schema's load lock
 * from the start, checks the target is still empty, swaps the side schema's
 * tables in (swapInBuild: `SET SCHEMA`, grants kept) and writes the ledger
 * row, and commits: the run appears whole or not at all.
 *
 * A load killed midway leaves at most the side schema (tables committed by
 * the builders); the next load of the schema drops it, under the lock,
 * before doing its own (ensureTables, and createSideSchemaSql).
 */
import { rm } from 'node:fs/promises'
import type pg from 'pg'
import { sqlStateOf } from '../../engines/postgres/postgres-errors.js'
import { inTransaction } from '../../engines/postgres/postgres-transaction.js'
import type { LoadedTable } from '../../schema/summaries.js'
import { heldTableName, type TableSpec } from '../../schema/table-spec.js'
import { qualify, quoteIdent } from '../../sql/quote.js'
import { sideSchemaName } from '../table-ddl.js'
import { LEDGER_TABLE, LEDGER_TABLES_TABLE, type LoadPlan, type LoadResult, type LoadTable } from '../warehouse.js'
import { createSideSchemaSql, foreignKeySql } from './postgres-ddl.js'
import { loadDimension } from './postgres-dimensions.js'
import { unreachableError, warehouseError, type ErrorPlace } from './postgres-errors.js'
import { directAppendBase, isBulk, loadFacts } from './postgres-facts.js'
import { recordLoad } from './postgres-ledger.js'
import { handMadeDifference, swapInBuild } from './postgres-rebuild.js'
import type { ParquetToCsv } from './postgres-staging.js'

/** Builder connections: two cores' worth of COPY parsing on the server. */
const BUILDERS = 2

export interface FirstLoadContext {
  readonly pool: pg.Pool
  readonly place: ErrorPlace
  readonly toCsv: ParquetToCsv
  /** Every CSV file made is pushed here, for the caller to remove (each is also removed once loaded). */
  readonly csvFiles: string[]
}

/** The side schema a first load of `schema` builds in: fixed, so a killed load's is found and dropped. */
export function firstLoadSchemaName(schema: string): string {
  return sideSchemaName('starline_firstload', schema)
}

/**
 * Connections the pool can lend now without waiting: idle ones, and room to
 * open more. A builder must never wait for a connection that a caller up the
 * stack holds (`starline rebuild` keeps one for its lock while its load runs).
 */
export function spareConnections(pool: pg.Pool): number {
  return pool.idleCount + Math.max(0, (pool.options.max ?? 10) - pool.totalCount)
}

/**
 * Whether `plan` may load as a first load: the pool can lend a builder
 * beside `client` at once, every table the run's tables reference is in the
 * run, and the schema holds no starline row (tables, held tables, ledger).
 * Call on the transaction holding the schema's load lock.
 */
export async function firstLoadApplies(client: pg.ClientBase, plan: LoadPlan, pool: pg.Pool): Promise<boolean> {
  if (spareConnections(pool) < 1 || plan.tables.length === 0 || firstLoadSchemaName(plan.schema) === plan.schema) return false
  const names = new Set(plan.tables.map((t) => t.spec.name))
  if (firstLoadSpecs(plan).some((spec) => spec.columns.some((c) => c.references && !names.has(c.references.table)))) return false
  return targetIsEmpty(client, plan)
}

/** The run's tables and every fact of the dataset (those absent from the run are built empty). */
function firstLoadSpecs(plan: LoadPlan): TableSpec[] {
  const specs = plan.tables.map((t) => t.spec)
  return [...specs, ...plan.facts.filter((f) => !specs.some((s) => s.name === f.name))]
}

/**
 * No row in any starline table of the target (absent tables count as empty).
 * With `lockWriters`, the tables are first locked against writers (readers
 * go on): a row written by hand and committed after the check would
 * otherwise be dropped with the old tables at the swap.
 */
async function targetIsEmpty(client: pg.ClientBase, plan: LoadPlan, options: { readonly lockWriters?: boolean } = {}): Promise<boolean> {
  const specs = firstLoadSpecs(plan)
  const names = [LEDGER_TABLE, LEDGER_TABLES_TABLE, ...specs.map((s) => s.name), ...specs.filter((s) => s.kind === 'fact').map(heldTableName)]
  const present = await client.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = ANY($2::text[]) AND c.relkind IN ('r', 'p')",
    [plan.schema, names],
  )
  if (present.rows.length === 0) return true
  if (options.lockWriters) await client.query(`LOCK TABLE ${present.rows.map((r) => qualify(plan.schema, r.name)).join(', ')} IN EXCLUSIVE MODE`)
  const filled = present.rows.map((r) => `EXISTS (SELECT 1 FROM ${qualify(plan.schema, r.name)})`).join(' OR ')
  const result = await client.query<{ filled: boolean }>(`SELECT ${filled} AS filled`)
  return result.rows[0]?.filled === false
}

/**
 * Loads `plan` as a first load. `lock` is the load's transaction, holding
 * the schema's load lock. Resolves undefined, with nothing changed (the
 * side schema dropped), when the swap must not happen after all: the target
 * took rows meanwhile (written by hand), or objects of others depend on its
 * tables; the caller then loads the normal way.
 */
export async function loadFirst(lock: pg.ClientBase, plan: LoadPlan, context: FirstLoadContext): Promise<LoadResult | undefined> {
  const side = firstLoadSchemaName(plan.schema)
  const sidePlan: LoadPlan = { ...plan, schema: side }
  const specs = firstLoadSpecs(plan)
  const builders = await connectBuilders(context, Math.max(1, Math.min(BUILDERS, spareConnections(context.pool))))
  const first = builders[0]!.client
  let savepoint = false
  try {
    // The lock's transaction waits idle while the builders work: a server's idle-in-transaction timeout
    // would end it (and the lock with it) on every attempt, for good.
    await lock.query('SET LOCAL idle_in_transaction_session_timeout = 0')
    await inTransaction(first, async () => {
      for (const sql of createSideSchemaSql(side, specs)) await first.query(sql)
    })
    plan.onStep?.('side schema created')
    const bases = new Map<string, number | undefined>()
    for (const table of plan.tables) if (table.spec.kind === 'fact') bases.set(table.spec.name, await directAppendBase(first, sidePlan, table))
    const loaded = await buildTables(builders.map((b) => b.client), sidePlan, bases, context)
    plan.onStep?.('swapping the side schema in')
    await lock.query('SAVEPOINT starline_first_load')
    savepoint = true
    const swapped = (await targetIsEmpty(lock, plan, { lockWriters: true })) && (await swapIn(lock, side, plan, specs, bases, loaded))
    if (!swapped) {
      await lock.query('ROLLBACK TO SAVEPOINT starline_first_load')
      await dropSideSchema(first, side)
      return undefined
    }
    const tables = plan.tables.map((t) => loaded.get(t.spec.name)!)
    await recordLoad(lock, plan, tables)
    return { runId: plan.runId, status: 'loaded', tables }
  } catch (error) {
    // The locks the load's transaction took on the side schema's objects go first: the drop would wait for them forever.
    const released = !savepoint || (await lock.query('ROLLBACK TO SAVEPOINT starline_first_load').then(() => true, () => false))
    // Still under the load lock: nothing else can be building there. The next load drops it if this cannot.
    if (released) await dropSideSchema(first, side).catch(() => undefined)
    throw error
  } finally {
    for (const builder of builders) builder.release()
  }
}

/** Drops the side schema, waiting at most 10 s for a lock (never for the load's own transaction). */
async function dropSideSchema(client: pg.ClientBase, side: string): Promise<void> {
  await inTransaction(client, async () => {
    await client.query("SET LOCAL lock_timeout = '10s'")
    await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(side)} CASCADE`)
  })
}

/** The facts' foreign keys (as the normal load leaves them), then the swap; false when objects of others depend on the target's tables. */
async function swapIn(
  lock: pg.ClientBase,
  side: string,
  plan: LoadPlan,
  specs: readonly TableSpec[],
  bases: ReadonlyMap<string, number | undefined>,
  loaded: ReadonlyMap<string, LoadedTable>,
): Promise<boolean> {
  for (const spec of specs) {
    // A bulk fact append (direct, or staged with 1,000 rows or more) puts its keys back NOT VALID, proven by the held-row check.
    const inserted = loaded.get(spec.name)?.inserted ?? 0
    const sql = foreignKeySql(side, spec, spec.kind === 'fact' && (bases.get(spec.name) !== undefined || isBulk(inserted, 0)))
    if (sql !== undefined) await lock.query(sql)
  }
  // What the swap would lose (a comment, a column grant, an index of someone's own): the normal load keeps it.
  if ((await handMadeDifference(lock, side, plan.schema, specs)) !== undefined) return false
  try {
    await swapInBuild(lock, side, plan.schema, specs)
    return true
  } catch (error) {
    if (sqlStateOf((error as { cause?: unknown }).cause) === '2BP01') return false
    throw error
  }
}

interface Builder {
  readonly client: pg.PoolClient
  release(): void
}

async function connectBuilders(context: FirstLoadContext, count: number): Promise<Builder[]> {
  const builders: Builder[] = []
  try {
    for (let i = 0; i < count; i++) {
      const client = await context.pool.connect()
      let broken = false
      // A connection lost mid-statement emits 'error' on the client: without a listener it crashes the process.
      const onError = (): void => {
        broken = true
      }
      client.on('error', onError)
      builders.push({
        client,
        release: () => {
          client.off('error', onError)
          client.release(broken ? true : undefined)
        },
      })
    }
    return builders
  } catch (error) {
    for (const builder of builders) builder.release()
    throw unreachableError(error, context.place)
  }
}

/**
 * Order of work: by depth of reference (a table after every table it
 * references, so a builder only ever waits for tables taken before its own,
 * whatever the number of builders), each depth the largest first (the
 * longest builds start earliest).
 */
function buildOrder(tables: readonly LoadTable[]): LoadTable[] {
  const depths = new Map<string, number>()
  const depth = (name: string, seen: ReadonlySet<string>): number => {
    const known = depths.get(name)
    if (known !== undefined) return known
    const spec = tables.find((t) => t.spec.name === name)?.spec
    const refs = (spec ? referencedTables(spec) : []).filter((r) => !seen.has(r))
    const d = refs.length === 0 ? 0 : 1 + Math.max(...refs.map((r) => depth(r, new Set([...seen, r]))))
    depths.set(name, d)
    return d
  }
  for (const t of tables) depth(t.spec.name, new Set([t.spec.name]))
  return [...tables].sort((a, b) => depths.get(a.spec.name)! - depths.get(b.spec.name)! || b.rows - a.rows)
}

/** The other tables `spec` references (a reference to itself waits for nothing). */
function referencedTables(spec: TableSpec): string[] {
  return [...new Set(spec.columns.flatMap((c) => (c.references && c.references.table !== spec.name ? [c.references.table] : [])))]
}

interface Deferred {
  readonly promise: Promise<void>
  resolve(): void
  reject(error: unknown): void
}

function deferred(): Deferred {
  let resolve!: () => void
  let reject!: (error: unknown) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}

/**
 * Builds every table of `plan` (the side schema) on the builders, each in
 * its own transaction, in buildOrder: a builder takes the next table, waits
 * for its CSV and for the tables it references to commit, then loads it.
 * DuckDB converts one table at a time, at most one ahead of the builders.
 */
async function buildTables(
  builders: readonly pg.ClientBase[],
  plan: LoadPlan,
  bases: ReadonlyMap<string, number | undefined>,
  context: FirstLoadContext,
): Promise<Map<string, LoadedTable>> {
  const order = buildOrder(plan.tables)
  const committed = new Map(order.map((t) => [t.spec.name, deferred()]))
  const taken = order.map(() => deferred())
  const conversions: Promise<string>[] = []
  let previous: Promise<unknown> = Promise.resolve()
  order.forEach((table, index) => {
    // After the previous conversion, and once the table before this one was taken: one CSV ready ahead at most.
    const made = Promise.all([previous.catch(() => {}), index > 0 ? taken[index - 1]!.promise : undefined]).then(async () => {
      const path = await context.toCsv.convert(table, bases.get(table.spec.name))
      context.csvFiles.push(path)
      return path
    })
    made.catch(() => {})
    conversions.push(made)
    previous = made
  })
  const loaded = new Map<string, LoadedTable>()
  let next = 0
  let failure: unknown
  const fail = (error: unknown): never => {
    failure ??= error
    // Nobody waits for a table that will not come; conversions not yet started never start.
    for (const d of [...committed.values(), ...taken]) d.reject(failure)
    throw error
  }
  const work = async (client: pg.ClientBase): Promise<void> => {
    while (failure === undefined && next < order.length) {
      const index = next++
      const table = order[index]!
      taken[index]!.resolve()
      const place = { ...context.place, runId: plan.runId, table: table.spec.name, kind: table.spec.kind }
      try {
        const csv = await conversions[index]!
        await Promise.all(referencedTables(table.spec).map((name) => committed.get(name)?.promise))
        const result = await inTransaction(client, async () => {
          // Hash joins of staging against dimensions want more than the 4 MB default.
          await client.query("SET LOCAL work_mem = '256MB'")
          return table.spec.kind === 'fact'
            ? loadFacts(client, plan, table, csv, bases.get(table.spec.name))
            : loadDimension(client, plan, table, csv)
        })
        await rm(csv, { force: true })
        loaded.set(table.spec.name, result)
        committed.get(table.spec.name)!.resolve()
        plan.onTableLoaded?.(result)
      } catch (error) {
        fail(failure ?? warehouseError(error, place))
      }
    }
  }
  const outcomes = await Promise.allSettled(builders.map(work))
  // No DuckDB statement is left running on return.
  await Promise.allSettled(conversions.filter((_, index) => index < next))
  const rejected = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected')
  if (rejected || failure !== undefined) throw failure ?? rejected!.reason
  return loaded
}
