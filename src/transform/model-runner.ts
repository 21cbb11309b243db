/**
 * Runs a dataset's SQL models for one ingestion run inside DuckDB.
 *
 * Models read three kinds of relation:
 * - `<source table>`: the rows that changed in this run (empty if none),
 * - `current_<source table>`: the latest version of every row up to and
 *   including this run, rebuilt from all earlier runs' files,
 * - `<model>`: the output of a model that ran before it in this run.
 * Source rows are validated first (types, NOT NULLs, the dataset's checks):
 * a bad row never reaches a model; it is written to a quarantine file with
 * its reasons. Each model becomes a table, is checked against its contract,
 * and, when it has rows, is written to a Parquet file.
 */
import { readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Dataset, ModelSpec } from '../schema/dataset.js'
import type { ManifestColumn } from '../lake/manifest.js'
import { quoteIdent, quoteIdentList, quoteLiteral } from '../sql/quote.js'
import { openDuckDb, type DuckDb } from '../engines/duckdb/duckdb-engine.js'
import { messageOf, StarlineError } from '../core/starline-error.js'
import { driverMessage } from '../core/driver-message.js'
import { ModelContractError, TransformError } from './errors.js'
import { modelTriggers, relationsReadBy } from './model-inputs.js'
import { duckdbTypeForColumn, duckdbTypeForPostgres } from './source-types.js'
import { checkedRelation, createChecked, internalNames, writeQuarantine, type QuarantineOutput, type SourceFile } from './checked-rows.js'
import { freeName } from './csv-reading.js'
import { appendOrderOf, withSmallMemory, writeInOrder } from './fact-order.js'

export type { QuarantineOutput, SourceFile } from './checked-rows.js'

export interface ModelRunInput {
  readonly runId: string
  /** DuckDB's memory limit (e.g. '512MB'); past it DuckDB spills to `outputDir`. */
  readonly memoryLimit?: string
  /** Files of this run, by source table. */
  readonly changed: ReadonlyMap<string, SourceFile>
  /** Files of every run up to and including this one (after `snapshots`, when given), oldest first, by source table. */
  readonly history: ReadonlyMap<string, readonly SourceFile[]>
  /** Per source table, its current rows before the `history` files (a Parquet file of the current_ view's rows). */
  readonly snapshots?: ReadonlyMap<string, string>
  /** Source tables whose current rows after this run are to be written to Parquet (outputs' `snapshots`). */
  readonly snapshotTables?: ReadonlySet<string>
  /** The newest columns the lake knows of each source table seen so far (for tables whose files are not needed). */
  readonly columns: ReadonlyMap<string, readonly ManifestColumn[]>
  /** Where Parquet outputs are written. */
  readonly outputDir: string
  /** Source tables whose file of this run carries late rows (possibly versions already loaded). */
  readonly lateTables?: ReadonlySet<string>
}

export interface ModelOutput {
  readonly model: ModelSpec
  readonly rows: number
  /** The Parquet file, when the model produced rows. */
  readonly path?: string
  readonly columns: readonly ManifestColumn[]
  /** The model read (directly or through earlier models) a source table with late rows: its rows may repeat loaded versions. */
  readonly repeatsVersions?: boolean
  /** A fact's rows lie in the file in this order: its table's append order. */
  readonly orderedBy?: readonly string[]
}

export interface ModelRunOutput {
  readonly models: readonly ModelOutput[]
  readonly quarantine: readonly QuarantineOutput[]
  /** Current rows after this run of each of `snapshotTables`, as Parquet. */
  readonly snapshots: readonly { readonly table: string; readonly path: string; readonly rows: number }[]
}

/** Runs every model of `dataset` for one ingestion run, in an in-process DuckDB of its own. */
export async function runModels(dataset: Dataset, input: ModelRunInput): Promise<ModelRunOutput> {
  // No model output depends on row order: the load numbers facts in their table's append order, by ORDER BY.
  const db = await openDuckDb({ scratchDir: input.outputDir, preserveInsertionOrder: false, ...(input.memoryLimit ? { memoryLimit: input.memoryLimit } : {}) })
  try {
    return await runModelsIn(db, dataset, input)
  } catch (error) {
    if (error instanceof StarlineError) throw error
    // DuckDB's own words can quote the data it read: driverMessage keeps them to what and where.
    const resources = /^(Out of Memory|IO) Error/.test(messageOf(error))
    throw new TransformError(
      `Transforming run ${input.runId} failed in DuckDB: ${driverMessage(error)}. ` +
        (resources
          ? 'Free space in STARLINE_SCRATCH_DIR or raise STARLINE_DUCKDB_MEMORY, then run again.'
          : 'Nothing of the run was published; report this with the run id.'),
      { cause: error, retryable: resources, context: { runId: input.runId } },
    )
  } finally {
    db.close()
  }
}

async function runModelsIn(db: DuckDb, dataset: Dataset, input: ModelRunInput): Promise<ModelRunOutput> {
  await createSeeds(db, dataset)
  const sql = new Map<string, string>()
  for (const model of dataset.models) sql.set(model.table.name, await readFile(model.sqlFile, 'utf8'))
  const quarantine = await createSourceViews(db, dataset, input, [...sql.values()].join('\n'))

  const produced = new Set<string>([...input.changed.keys()])
  // Late rows flow on into every model that reads them, through earlier models too.
  const late = new Set<string>(input.lateTables ?? [])
  const outputs: ModelOutput[] = []
  const sourceNames = dataset.sourceTables.map((t) => t.name)
  for (const [index, model] of dataset.models.entries()) {
    const name = model.table.name
    const earlier = dataset.models.slice(0, index).map((m) => m.table.name)
    const triggers = modelTriggers(sql.get(name) ?? '', sourceNames, earlier)
    const triggered = triggers.some((trigger) => produced.has(trigger))
    if (triggered && triggers.some((trigger) => late.has(trigger))) late.add(name)
    if (!triggered) {
      await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${contractColumnsDdl(model)})`)
      outputs.push({ model, rows: 0, columns: await checkContract(db, model, quoteIdent(name), input.memoryLimit) })
      continue
    }
    // Streamed: the model's rows go straight to their Parquet file (never a DuckDB table, which would hold
    // the whole output in memory), and later models and the contract's checks read that file back.
    const modelSql = stripTrailingSemicolon(sql.get(name) ?? '')
    const path = join(input.outputDir, `${name}.parquet`)
    const orderedBy = appendOrderOf(model)
    let rowCount: number
    let columns: ManifestColumn[]
    try {
      columns = await checkColumns(db, model, `DESCRIBE (${modelSql})`)
      rowCount =
        orderedBy === undefined
          ? await db.run(`COPY (${modelSql}) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`)
          : await writeInOrder(db, modelSql, orderedBy, path, input.memoryLimit)
    } catch (error) {
      if (error instanceof StarlineError) throw error
      throw new TransformError(
        `Model "${name}" failed on run ${input.runId}: ${driverMessage(error)}. ` +
          `Fix ${fileName(model)} (after a source schema change, the columns it reads may be gone).`,
        { cause: error, context: { model: name, runId: input.runId } },
      )
    }
    if (rowCount === 0) {
      await rm(path, { force: true })
      await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${contractColumnsDdl(model)})`)
      outputs.push({ model, rows: 0, columns })
      continue
    }
    await db.run(`CREATE OR REPLACE VIEW ${quoteIdent(name)} AS SELECT * FROM read_parquet(${quoteLiteral(path)})`)
    await checkContract(db, model, quoteIdent(name), input.memoryLimit)
    produced.add(name)
    outputs.push({
      model,
      rows: rowCount,
      path,
      columns,
      ...(late.has(name) ? { repeatsVersions: true } : {}),
      ...(orderedBy === undefined ? {} : { orderedBy }),
    })
  }
  return { models: outputs, quarantine, snapshots: await writeSnapshots(db, input) }
}

/** Source tables whose `current_` view some model reads: the only ones whose earlier runs' files are needed. */
export async function tablesReadWithHistory(dataset: Dataset): Promise<Set<string>> {
  const allSql = (await Promise.all(dataset.models.map((m) => readFile(m.sqlFile, 'utf8')))).join('\n')
  const views = relationsReadBy(allSql, dataset.sourceTables.map((t) => `current_${t.name}`))
  return new Set([...views].map((view) => view.slice('current_'.length)))
}

async function writeSnapshots(db: DuckDb, input: ModelRunInput): Promise<ModelRunOutput['snapshots']> {
  const written: { table: string; path: string; rows: number }[] = []
  for (const table of input.snapshotTables ?? []) {
    const path = join(input.outputDir, `_state_${table}.parquet`)
    const current = quoteIdent(`current_${table}`)
    await db.run(`COPY (SELECT * FROM ${current}) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`)
    const [{ rows }] = (await db.all<{ rows: string }>(`SELECT count(*)::varchar AS rows FROM ${quoteLiteral(path)}`)) as [{ rows: string }]
    written.push({ table, path, rows: Number(rows) })
  }
  return written
}

async function createSeeds(db: DuckDb, dataset: Dataset): Promise<void> {
  for (const seed of dataset.seeds) {
    const rows = seed.rows()
    const columns = seed.columns.map((c) => `${quoteIdent(c)} VARCHAR`).join(', ')
    await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(seed.name)} (${columns})`)
    if (rows.length === 0) continue
    const values = rows.map((row) => `(${row.map(quoteLiteral).join(', ')})`).join(',\n')
    await db.run(`INSERT INTO ${quoteIdent(seed.name)} VALUES ${values}`)
  }
}

async function createSourceViews(db: DuckDb, dataset: Dataset, input: ModelRunInput, allSql: string): Promise<QuarantineOutput[]> {
  const quarantine: QuarantineOutput[] = []
  for (const table of dataset.sourceTables) {
    const history = input.history.get(table.name) ?? []
    const changed = input.changed.get(table.name)
    const knownColumns = changed?.columns ?? history.at(-1)?.columns ?? input.columns.get(table.name)
    if (knownColumns === undefined) continue // never seen: models that need it are not triggered
    const checks = dataset.checks[table.name] ?? []
    const names = quoteIdentList(knownColumns.map((c) => c.name))
    const view = quoteIdent(table.name)
    const internal = internalNames([knownColumns, ...history.map((f) => f.columns), changed?.columns ?? []])
    if (changed) {
      const checkedName = `_checked_${table.name}`
      const checked = quoteIdent(checkedName)
      await createChecked(db, checkedName, changed, knownColumns, checks, internal, join(input.outputDir, `${checkedName}.parquet`))
      await db.run(`CREATE OR REPLACE VIEW ${view} AS SELECT ${names} FROM ${checked} WHERE len(${quoteIdent(internal.reasons)}) = 0`)
      const bad = await writeQuarantine(db, checked, table.name, changed, input.outputDir, internal)
      if (bad) quarantine.push(bad)
    } else {
      await db.run(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM (${emptyRelation(knownColumns)}) WHERE false`)
    }
    // Only build current_ views some model reads: they scan the table's whole history.
    const currentName = `current_${table.name}`
    if (!relationsReadBy(allSql, [currentName]).has(currentName)) continue
    // Rows that failed validation (when they arrived) stay out of the current state too.
    const snapshot = input.snapshots?.get(table.name)
    const file = quoteIdent(internal.file)
    const afterSnapshot = quoteIdent(freeName('_after_snapshot', knownColumns.map((c) => c.name)))
    const order = `${quoteIdent(table.watermarkColumn)} DESC, ${snapshot === undefined ? '' : `${afterSnapshot} DESC, `}${file} DESC`
    const checked =
      history.length === 0
        ? undefined
        : `SELECT ${names}, ${file} FROM (${await checkedRelation(history, knownColumns, checks, internal, 'skip')}) WHERE len(${quoteIdent(internal.reasons)}) = 0`
    // A snapshot holds the current rows up to an earlier run: any later file's row of the same key and watermark wins.
    const rows =
      snapshot === undefined
        ? (checked ?? `SELECT *, '' AS ${file} FROM (${emptyRelation(knownColumns)}) WHERE false`)
        : `SELECT ${names}, false AS ${afterSnapshot}, '' AS ${file} FROM read_parquet(${quoteLiteral(snapshot)})` +
          (checked === undefined ? '' : ` UNION ALL SELECT ${names}, true, ${file} FROM (${checked})`)
    await db.run(
      `CREATE OR REPLACE VIEW ${quoteIdent(currentName)} AS ` +
        `SELECT ${names} FROM (${rows}) QUALIFY row_number() OVER (PARTITION BY ${quoteIdent(table.primaryKey)} ORDER BY ${order}) = 1`,
    )
  }
  return quarantine
}

function emptyRelation(columns: readonly ManifestColumn[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${duckdbTypeForPostgres(c.type)}) AS ${quoteIdent(c.name)}`).join(', ')}`
}

function contractColumnsDdl(model: ModelSpec): string {
  return model.table.columns.map((c) => `${quoteIdent(c.name)} ${duckdbTypeForColumn(c.type)}`).join(', ')
}

/** Names, order and types of `described` (a DESCRIBE statement) must match the model's contract. */
async function checkColumns(db: DuckDb, model: ModelSpec, describe: string): Promise<ManifestColumn[]> {
  const name = model.table.name
  const described = await db.all<{ column_name: string; column_type: string }>(describe)
  const actual = described.map((d) => `${d.column_name} ${d.column_type}`)
  const expected = model.table.columns.map((c) => `${c.name} ${duckdbTypeForColumn(c.type)}`)
  if (actual.join(', ') !== expected.join(', ')) {
    throw new ModelContractError(
      `Model "${name}" does not match its contract. Expected columns: ${expected.join(', ')}. ` +
        `Got: ${actual.join(', ')}. Fix ${fileName(model)} or the table spec.`,
      { context: { model: name } },
    )
  }
  return described.map((d) => ({
    name: d.column_name,
    type: d.column_type,
    nullable: model.table.columns.find((c) => c.name === d.column_name)?.nullable ?? true,
  }))
}

/** The contract on a model's rows (`relation`): its columns, no null in a NOT NULL column, dimension keys unique. */
async function checkContract(db: DuckDb, model: ModelSpec, relation: string, memoryLimit: string | undefined): Promise<ManifestColumn[]> {
  const columns = await checkColumns(db, model, `DESCRIBE ${relation}`)
  const notNull = model.table.columns.filter((c) => !c.nullable)
  const checks = notNull.map((c) => `count(*) FILTER (WHERE ${quoteIdent(c.name)} IS NULL)::varchar AS ${quoteIdent(`null:${c.name}`)}`)
  const broken: [string, string][] = []
  if (checks.length > 0) {
    const [result] = await db.all<Record<string, string>>(`SELECT ${checks.join(', ')} FROM ${relation}`)
    broken.push(...Object.entries(result ?? {}).filter(([, count]) => Number(count) > 0))
  }
  const key = model.table.primaryKey
  if (key) {
    // GROUP BY rather than count(DISTINCT ...): the grouping spills past the memory limit, a distinct aggregate does not.
    const [result] = await withSmallMemory(db, memoryLimit, () =>
      db.all<{ duplicates: string }>(
        `SELECT coalesce(sum(n - 1), 0)::varchar AS duplicates FROM (SELECT count(*) AS n FROM ${relation} GROUP BY ${key.map(quoteIdent).join(', ')} HAVING count(*) > 1)`,
      ),
    )
    if (Number(result?.duplicates ?? 0) > 0) broken.push(['duplicate key', result!.duplicates])
  }
  if (broken.length > 0) {
    throw new ModelContractError(
      `Model "${model.table.name}" broke its contract: ${broken.map(([check, count]) => `${count} rows with ${check}`).join('; ')}.`,
      { context: { model: model.table.name } },
    )
  }
  return columns
}

function fileName(model: ModelSpec): string {
  return model.sqlFile.pathname.split('/').pop() ?? model.table.name
}

function stripTrailingSemicolon(sql: string): string {
  return sql.trim().replace(/;\s*$/, '')
}
