/**
 * The Redshift warehouse. A run loads in two phases:
 *
 * 1. Staging (outside the transaction, touching no target table): each
 *    table's file columns are checked against its spec, a COPY manifest
 *    listing exactly the run's file is written to the processed zone, and
 *    `COPY ... IAM_ROLE ... FORMAT AS PARQUET MANIFEST` fills a run-scoped
 *    stage; its row count is checked against the manifest.
 * 2. Merge (one transaction, one Data API batch): ledger row, dimension
 *    merges, held rows released and re-held, fact appends, per-table ledger
 *    rows. Every statement is set-based and reads nothing back, so the Data
 *    API can run the lot as one batch. A run killed midway rolls back whole;
 *    a run in the ledger is skipped.
 */
import { messageOf } from '../../core/starline-error.js'
import { objectUrlOf, type ObjectStore } from '../../lake/object-store.js'
import { quoteIdent } from '../../sql/quote.js'
import { inDependencyOrder, type TableSpec } from '../../schema/table-spec.js'
import type { LoadedTable } from '../../schema/summaries.js'
import type { DriftFinding, LedgerRange, LedgerRow, LoadPlan, LoadResult, LoadTable, Warehouse, WarehouseCapabilities } from '../warehouse.js'
import { WarehouseLoadError } from '../errors.js'
import { parseIamRole, parseRedshiftUrl, type RedshiftWarehouseConfig } from './redshift-config.js'
import { RedshiftDataApiSession } from './redshift-data-api-session.js'
import { ensureTablesSql } from './redshift-ddl.js'
import { dimensionLedgerSql, upsertDimensionSql } from './redshift-dimensions.js'
import { RedshiftConfigError, RedshiftCopyError, isCopyLoadError, warehouseError, type ErrorPlace } from './redshift-errors.js'
import { appendFactsSql, factLedgerSql, skipHeldVersionsSql, type IndexedFact } from './redshift-facts.js'
import { addHeldSinceColumnSql, hasHeldRowsSql, holdUnresolvedSql, releaseHeldSql } from './redshift-held-rows.js'
import { checkColumns, columnsSql } from './redshift-introspection.js'
import { insertLedgerSql, ledgerExistsSql, ledgerGuardSql, ledgerHasRunSql, loadedRunsSql, lockLedgerSql, runTablesSql } from './redshift-ledger.js'
import type { RedshiftSession, Statement, TextRow } from './redshift-session.js'
import {
  checkFileColumns,
  checkPublishedObject,
  copyManifestJson,
  copyManifestKey,
  copySql,
  countStageSql,
  createStageSql,
  describeLoadErrors,
  dropStageSql,
  loadErrorsSql,
  writeCopyManifest,
} from './redshift-staging.js'
import { RedshiftWireSession } from './redshift-wire-session.js'
import { compareWithLedger } from '../drift.js'
import { observeWarehouse } from './redshift-drift.js'

export const REDSHIFT_CAPABILITIES: WarehouseCapabilities = Object.freeze({ copyFromObjectStore: true, enforcesForeignKeys: false })

/** What the merge transaction needs to know: no reads from the warehouse. */
export interface LoadScriptInput {
  readonly schema: string
  readonly runId: string
  readonly dataset: string
  readonly manifestSha256: string
  readonly loadedAt: Date
  /** The run's tables in load order. */
  readonly tables: readonly { readonly spec: TableSpec; readonly rows: number; readonly repeatsVersions?: boolean }[]
  /** Every fact of the dataset (those the run did not bring may have held rows to release). */
  readonly facts: readonly TableSpec[]
}

/** The merge transaction of one run, in order (see the file comment). */
export function loadScript(input: LoadScriptInput): Statement[] {
  const { schema, runId } = input
  const dimensions = input.tables.map((t, index) => ({ ...t, index })).filter((t) => t.spec.kind === 'dimension')
  const facts: IndexedFact[] = [
    ...input.tables.flatMap((t, index) => (t.spec.kind === 'fact' ? [{ spec: t.spec, index, loaded: true, rows: t.rows }] : [])),
    ...input.facts
      .filter((spec) => !input.tables.some((t) => t.spec.name === spec.name))
      .map((spec, i) => ({ spec, index: input.tables.length + i, loaded: false, rows: 0 })),
  ]
  const rows = input.tables.reduce((sum, t) => sum + t.rows, 0)
  const optional = (s: Statement | undefined) => (s === undefined ? [] : [s])
  return [
    lockLedgerSql(schema),
    insertLedgerSql(schema, { runId, dataset: input.dataset, manifestSha256: input.manifestSha256, rows, loadedAt: input.loadedAt }),
    ...optional(dimensionLedgerSql(schema, runId, dimensions)),
    ...dimensions.flatMap((d) => upsertDimensionSql(schema, runId, d.spec)),
    // Before held rows rejoin the stage and ids are numbered: a skipped version takes no id and is never held.
    ...input.tables.flatMap((t) => (t.spec.kind === 'fact' && t.repeatsVersions ? skipHeldVersionsSql(schema, runId, t.spec) : [])),
    ...facts.flatMap((f) => [...releaseHeldSql(schema, runId, f.spec), ...holdUnresolvedSql(schema, runId, f.spec)]),
    ...optional(factLedgerSql(schema, runId, facts)),
    ...facts.map((f) => appendFactsSql(schema, runId, f.spec)),
    ledgerGuardSql(schema, runId),
  ]
}

export class RedshiftWarehouse implements Warehouse {
  readonly capabilities: WarehouseCapabilities = REDSHIFT_CAPABILITIES
  readonly #session: RedshiftSession
  readonly #iamRole: string
  readonly #copyPrefix: string | undefined
  readonly #setting: string | undefined
  readonly #now: () => Date

  constructor(config: RedshiftWarehouseConfig & { readonly now?: () => Date }) {
    this.#iamRole = parseIamRole(config.iamRole)
    this.#copyPrefix = config.copyPrefix
    this.#now = config.now ?? (() => new Date())
    if ('session' in config.connection) {
      this.#session = config.connection.session
      this.#setting = undefined
    } else {
      const { url, setting } = config.connection
      this.#setting = setting
      const connection = parseRedshiftUrl(url, setting)
      this.#session =
        connection.kind === 'wire'
          ? new RedshiftWireSession({ url: connection.url, ssl: connection.ssl, displayUrl: url, ...(setting ? { setting } : {}) })
          : new RedshiftDataApiSession({ target: connection })
    }
  }

  async ensureTables(schema: string, tables: readonly TableSpec[]): Promise<void> {
    const specs = inDependencyOrder(tables)
    try {
      // Every statement is idempotent (IF NOT EXISTS, OR REPLACE), so a batch limit may split them.
      const statements = ensureTablesSql(schema, specs).map((sql) => ({ sql }))
      const size = this.#session.maxTransactionStatements ?? statements.length
      for (let i = 0; i < statements.length; i += size) await this.#session.transaction(statements.slice(i, i + size))
      checkColumns(schema, specs, (await this.#session.query(columnsSql(schema, specs))).rows)
    } catch (error) {
      throw warehouseError(error, this.#place())
    }
  }

  async loadRun(plan: LoadPlan): Promise<LoadResult> {
    if (await this.#hasRun(plan.schema, plan.runId)) return { runId: plan.runId, status: 'already-loaded', tables: [] }
    const store = plan.store
    if (store === undefined) {
      throw new RedshiftConfigError(`Cannot load run ${plan.runId}: Redshift copies from the object store, but the load gave it none.`)
    }
    // Every file is checked before the first COPY: a mismatch anywhere changes nothing.
    for (const table of plan.tables) {
      checkFileColumns(plan.runId, table.spec, table.key, table.columns)
      if (!table.objectUrl.startsWith('s3://')) {
        throw new RedshiftConfigError(
          `Cannot load run ${plan.runId}: Redshift COPY reads from S3, but "${table.key}" is at ${table.objectUrl}. Set STARLINE_PROCESSED_URL to an s3:// URL.`,
        )
      }
    }
    const released = await this.#waitingFacts(plan)
    const staged = [...plan.tables.map((t) => t.spec), ...released]
    // Facts the run brought come from its tables; of the others, only those with rows waiting.
    const script = loadScript({ ...plan, loadedAt: this.#now(), tables: plan.tables, facts: released })
    const limit = this.#session.maxTransactionStatements
    if (limit !== undefined && script.length > limit) {
      throw new RedshiftConfigError(
        `Cannot load run ${plan.runId}: its merge takes ${script.length} statements in one transaction, more than the ${limit} ${this.#session.describe} runs as one. ` +
          'Connect over the wire instead: STARLINE_WAREHOUSE_URL=redshift://user@host:5439/database.',
      )
    }
    try {
      for (const table of plan.tables) await this.#stage(plan, store, table)
      for (const spec of released) await this.#createStage(plan, spec, { heldSince: true })
      try {
        await this.#session.transaction(script)
      } catch (error) {
        // Another loader committed the run between our check and our transaction (the guard failed).
        if (await this.#hasRun(plan.schema, plan.runId).catch(() => false)) return { runId: plan.runId, status: 'already-loaded', tables: [] }
        throw warehouseError(error, this.#place(plan.runId))
      }
      return { runId: plan.runId, status: 'loaded', tables: await this.#loadedTables(plan, staged) }
    } finally {
      // After a commit or a failure alike the stages are dead weight. A drop that fails leaves
      // a table no run reads, dropped by the next attempt of this run; it must not fail the load.
      for (const spec of staged) await this.#session.query({ sql: dropStageSql(plan.schema, plan.runId, spec) }).catch(() => undefined)
    }
  }

  async loadedRuns(schema: string, range?: LedgerRange): Promise<readonly LedgerRow[]> {
    try {
      if (!(await this.#ledgerExists(schema))) return []
      const { rows } = await this.#session.query(loadedRunsSql(schema, range))
      return rows.map((r) => ({
        runId: r.run_id!,
        dataset: r.dataset!,
        manifestSha256: r.manifest_sha256!,
        rows: Number(r.rows),
        status: r.status!,
        loadedAt: new Date(r.loaded_at!),
      }))
    } catch (error) {
      throw warehouseError(error, this.#place())
    }
  }

  async newestLoadedRun(schema: string): Promise<LedgerRow | undefined> {
    return (await this.loadedRuns(schema, { newest: true })).at(-1)
  }

  async checkAgainstLedger(schema: string, tables: readonly TableSpec[]): Promise<readonly DriftFinding[]> {
    try {
      return compareWithLedger(tables, await observeWarehouse(this.#session, schema, tables))
    } catch (error) {
      throw warehouseError(error, this.#place())
    }
  }

  async close(): Promise<void> {
    await this.#session.close()
  }

  #place(runId?: string, table?: string): ErrorPlace {
    return {
      describe: this.#session.describe,
      ...(runId === undefined ? {} : { runId }),
      ...(table === undefined ? {} : { table }),
      ...(this.#setting ? { setting: this.#setting } : {}),
    }
  }

  async #ledgerExists(schema: string): Promise<boolean> {
    return (await this.#session.query(ledgerExistsSql(schema))).rows[0]?.n !== '0'
  }

  async #hasRun(schema: string, runId: string): Promise<boolean> {
    try {
      return (await this.#ledgerExists(schema)) && (await this.#session.query(ledgerHasRunSql(schema, runId))).rows.length > 0
    } catch (error) {
      throw warehouseError(error, this.#place(runId))
    }
  }

  /**
   * Facts the run did not bring that have held rows to release. A fact with
   * none needs no stage; rows held by a concurrent load after this check
   * wait for the next run.
   */
  async #waitingFacts(plan: LoadPlan): Promise<TableSpec[]> {
    const waiting: TableSpec[] = []
    try {
      for (const spec of plan.facts) {
        if (plan.tables.some((t) => t.spec.name === spec.name)) continue
        if ((await this.#session.query({ sql: hasHeldRowsSql(plan.schema, spec) })).rows[0]?.n !== '0') waiting.push(spec)
      }
    } catch (error) {
      throw warehouseError(error, this.#place(plan.runId))
    }
    return waiting
  }

  /** An empty stage; `heldSince` adds the column released rows carry (after COPY, which maps by position). */
  async #createStage(plan: LoadPlan, spec: TableSpec, options: { readonly heldSince?: boolean } = {}): Promise<void> {
    try {
      for (const sql of createStageSql(plan.schema, plan.runId, spec)) await this.#session.query({ sql })
      if (options.heldSince) await this.#session.query({ sql: addHeldSinceColumnSql(plan.schema, plan.runId, spec) })
    } catch (error) {
      throw warehouseError(error, this.#place(plan.runId, spec.name))
    }
  }

  /** COPY manifest, stage, COPY, count; facts then gain the held-since column. */
  async #stage(plan: LoadPlan, store: ObjectStore, table: LoadTable): Promise<void> {
    const { spec } = table
    await checkPublishedObject(store, plan.runId, spec, table.key, table.bytes, table.sha256)
    const key = copyManifestKey(plan.runId, spec.name, this.#copyPrefix)
    await writeCopyManifest(store, key, copyManifestJson([{ url: table.objectUrl, bytes: table.bytes ?? 0 }]))
    await this.#createStage(plan, spec)
    try {
      await this.#session.query({ sql: copySql(plan.schema, plan.runId, spec, objectUrlOf(store, key), this.#iamRole) })
    } catch (error) {
      throw await this.#copyError(error, plan, table)
    }
    try {
      const copied = Number((await this.#session.query({ sql: countStageSql(plan.schema, plan.runId, spec) })).rows[0]?.rows)
      if (copied !== table.rows) {
        throw new WarehouseLoadError(
          `Cannot load run ${plan.runId}: "${spec.name}" copied ${copied} rows but its manifest says ${table.rows}. The processed file is damaged; transform the run again.`,
          { context: { runId: plan.runId, table: spec.name } },
        )
      }
      if (spec.kind === 'fact') await this.#session.query({ sql: addHeldSinceColumnSql(plan.schema, plan.runId, spec) })
    } catch (error) {
      throw warehouseError(error, this.#place(plan.runId, spec.name))
    }
  }

  /** A failed COPY: what Redshift recorded about the rows it rejected, read after the failure. */
  async #copyError(error: unknown, plan: LoadPlan, table: LoadTable): Promise<Error> {
    const mapped = warehouseError(error, this.#place(plan.runId, table.spec.name))
    if (!isCopyLoadError(error)) return mapped
    let details: string
    try {
      const { rows } = await this.#session.query(loadErrorsSql([table.objectUrl]))
      details = rows.length > 0 ? describeLoadErrors(rows) : 'sys_load_error_detail has no rows for the file'
    } catch (detailError) {
      details = `sys_load_error_detail could not be read: ${messageOf(detailError)}`
    }
    return new RedshiftCopyError(
      `Cannot load run ${plan.runId}: COPY into ${quoteIdent(table.spec.name)} from "${table.key}" failed: ${messageOf(error)}. Rejected rows: ${details}. ` +
        'Nothing was merged; fix the file (transform the run again) or the table, then load again.',
      { cause: error, context: { runId: plan.runId, table: table.spec.name, key: table.key } },
    )
  }

  async #loadedTables(plan: LoadPlan, staged: readonly TableSpec[]): Promise<LoadedTable[]> {
    let rows: readonly TextRow[]
    try {
      rows = (await this.#session.query(runTablesSql(plan.schema, plan.runId))).rows
    } catch (error) {
      throw warehouseError(error, this.#place(plan.runId))
    }
    const byName = new Map(rows.map((r) => [r.table_name, r]))
    return staged.flatMap((spec) => {
      const r = byName.get(spec.name)
      if (!r) return []
      return [{ table: spec.name, rows: Number(r.rows), inserted: Number(r.inserted), updated: Number(r.updated), held: Number(r.held) }]
    })
  }
}
