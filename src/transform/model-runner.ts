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
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Dataset, ModelSpec, RowCheck } from '../schema/dataset.js'
import type { ManifestColumn } from '../lake/manifest.js'
import { quoteIdent, quoteIdentList, quoteLiteral } from '../sql/quote.js'
import { openDuckDb, type DuckDb } from '../engines/duckdb/duckdb-engine.js'
import { messageOf } from '../core/starline-error.js'
import { ModelContractError, TransformError } from './errors.js'
import { modelTriggers, relationsReadBy } from './model-inputs.js'
import { duckdbTypeForColumn, duckdbTypeForPostgres } from './source-types.js'

/** One CSV file of a source table, with the columns it was written with. */
export interface SourceFile {
  /** Its key in the ingestion zone (named in quarantine records). */
  readonly key: string
  readonly path: string
  readonly runId: string
  readonly columns: readonly ManifestColumn[]
}

export interface ModelRunInput {
  readonly runId: string
  /** DuckDB's memory limit (e.g. '512MB'); past it DuckDB spills to `outputDir`. */
  readonly memoryLimit?: string
  /** Files of this run, by source table. */
  readonly changed: ReadonlyMap<string, SourceFile>
  /** Files of every run up to and including this one, oldest first, by source table. */
  readonly history: ReadonlyMap<string, readonly SourceFile[]>
  /** The newest columns the lake knows of each source table seen so far (for tables whose files are not needed). */
  readonly columns: ReadonlyMap<string, readonly ManifestColumn[]>
  /** Where Parquet outputs are written. */
  readonly outputDir: string
}

export interface ModelOutput {
  readonly model: ModelSpec
  readonly rows: number
  /** The Parquet file, when the model produced rows. */
  readonly path?: string
  readonly columns: readonly ManifestColumn[]
}

/** Rows of one source table that failed validation in this run. */
export interface QuarantineOutput {
  readonly table: string
  readonly sourceKey: string
  readonly rows: number
  /** A CSV file: reason, source_key, then the row's columns as they arrived. */
  readonly path: string
}

export interface ModelRunOutput {
  readonly models: readonly ModelOutput[]
  readonly quarantine: readonly QuarantineOutput[]
}

/** Runs every model of `dataset` for one ingestion run, in an in-process DuckDB of its own. */
export async function runModels(dataset: Dataset, input: ModelRunInput): Promise<ModelRunOutput> {
  const db = await openDuckDb({ scratchDir: input.outputDir, ...(input.memoryLimit ? { memoryLimit: input.memoryLimit } : {}) })
  try {
    return await runModelsIn(db, dataset, input)
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
  const outputs: ModelOutput[] = []
  const sourceNames = dataset.sourceTables.map((t) => t.name)
  for (const [index, model] of dataset.models.entries()) {
    const name = model.table.name
    const earlier = dataset.models.slice(0, index).map((m) => m.table.name)
    const triggered = modelTriggers(sql.get(name) ?? '', sourceNames, earlier).some((trigger) => produced.has(trigger))
    if (triggered) {
      try {
        await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} AS ${stripTrailingSemicolon(sql.get(name) ?? '')}`)
      } catch (error) {
        throw new TransformError(
          `Model "${name}" failed on run ${input.runId}: ${messageOf(error)}. ` +
            `Fix ${fileName(model)} (after a source schema change, the columns it reads may be gone).`,
          { cause: error, context: { model: name, runId: input.runId } },
        )
      }
    } else {
      await db.run(`CREATE OR REPLACE TABLE ${quoteIdent(name)} (${contractColumnsDdl(model)})`)
    }
    const columns = await checkContract(db, model)
    const [{ rows }] = (await db.all<{ rows: string }>(`SELECT count(*)::varchar AS rows FROM ${quoteIdent(name)}`)) as [{ rows: string }]
    const rowCount = Number(rows)
    if (rowCount === 0) {
      outputs.push({ model, rows: 0, columns })
      continue
    }
    produced.add(name)
    const path = join(input.outputDir, `${name}.parquet`)
    await db.run(`COPY ${quoteIdent(name)} TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION zstd)`)
    outputs.push({ model, rows: rowCount, path, columns })
  }
  return { models: outputs, quarantine }
}

/** Source tables whose `current_` view some model reads: the only ones whose earlier runs' files are needed. */
export async function tablesReadWithHistory(dataset: Dataset): Promise<Set<string>> {
  const allSql = (await Promise.all(dataset.models.map((m) => readFile(m.sqlFile, 'utf8')))).join('\n')
  const views = relationsReadBy(allSql, dataset.sourceTables.map((t) => `current_${t.name}`))
  return new Set([...views].map((view) => view.slice('current_'.length)))
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
    if (changed) {
      const checked = quoteIdent(`_checked_${table.name}`)
      await db.run(`CREATE OR REPLACE TABLE ${checked} AS ${checkedRelation([changed], knownColumns, checks)}`)
      await db.run(`CREATE OR REPLACE VIEW ${view} AS SELECT ${names} FROM ${checked} WHERE len(_reasons) = 0`)
      const bad = await writeQuarantine(db, checked, table.name, changed, input.outputDir)
      if (bad) quarantine.push(bad)
    } else {
      await db.run(`CREATE OR REPLACE VIEW ${view} AS SELECT * FROM (${emptyRelation(knownColumns)}) WHERE false`)
    }
    // Only build current_ views some model reads: they scan the table's whole history.
    const currentName = `current_${table.name}`
    if (!relationsReadBy(allSql, [currentName]).has(currentName)) continue
    // Rows that failed validation (when they arrived) stay out of the current state too.
    await db.run(
      `CREATE OR REPLACE VIEW ${quoteIdent(currentName)} AS ` +
        `SELECT ${names} FROM (${checkedRelation(history, knownColumns, checks)}) WHERE len(_reasons) = 0 ` +
        `QUALIFY row_number() OVER (PARTITION BY ${quoteIdent(table.primaryKey)} ` +
        `ORDER BY ${quoteIdent(table.watermarkColumn)} DESC, _file DESC) = 1`,
    )
  }
  return quarantine
}

/**
 * The files' rows with typed columns, `_file` (which file), `_raw` (the text
 * as it arrived) and `_reasons` (why the row is bad; empty when it is good).
 * Files are read as text and cast here, so one bad value fails one row, not
 * the run. Types are those of `columns` (the newest the lake knows).
 */
function checkedRelation(files: readonly SourceFile[], columns: readonly ManifestColumn[], checks: readonly RowCheck[]): string {
  const raw = groupByColumns(files)
    .map((group) => `SELECT * FROM ${readCsvAsText(group)}`)
    .join(' UNION ALL BY NAME ')
  const typed = columns.map((c) => {
    const type = duckdbTypeForPostgres(c.type)
    return type === 'VARCHAR' ? quoteIdent(c.name) : `TRY_CAST(${quoteIdent(c.name)} AS ${type}) AS ${quoteIdent(c.name)}`
  })
  const reasons = [
    ...columns.map((c) => {
      const type = duckdbTypeForPostgres(c.type)
      const name = quoteIdent(c.name)
      const badType =
        type === 'VARCHAR' ? undefined : `WHEN _raw.${name} IS NOT NULL AND ${name} IS NULL THEN ${quoteLiteral(`${c.name} is not a valid ${c.type}: `)} || _raw.${name}`
      // A column added to the source after a file was written is absent from that file, not null in it.
      const without = files.filter((f) => !f.columns.some((column) => column.name === c.name)).map((f) => quoteLiteral(f.path))
      const written = without.length > 0 ? ` AND _file NOT IN (${without.join(', ')})` : ''
      const missing = c.nullable ? undefined : `WHEN _raw.${name} IS NULL${written} THEN ${quoteLiteral(`${c.name} is null`)}`
      // PostgreSQL's and DuckDB's 'infinity' casts, but no calendar holds it: it fails its row, not the run.
      const infinite = /^(DATE|TIMESTAMP|TIMESTAMPTZ)$/.test(type) ? `WHEN isinf(${name}) THEN ${quoteLiteral(`${c.name} is not a finite ${c.type}`)}` : undefined
      const cases = [missing, badType, infinite].filter(Boolean)
      return cases.length > 0 ? `CASE ${cases.join(' ')} END` : undefined
    }),
    ...checks.map((check) => `CASE WHEN (${check.failsWhen}) THEN ${quoteLiteral(check.reason)} END`),
  ].filter((r): r is string => r !== undefined)
  // The text of a row is kept only when the row is bad (for its quarantine record): good rows
  // would otherwise be held twice.
  return (
    `SELECT * EXCLUDE (_raw), CASE WHEN len(_reasons) > 0 THEN _raw END AS _raw FROM (` +
    `SELECT *, list_filter([${reasons.join(', ')}]::VARCHAR[], r -> r IS NOT NULL) AS _reasons FROM (` +
    `SELECT ${typed.join(', ')}, raw.filename AS _file, raw AS _raw FROM (${raw}) raw))`
  )
}

/** Writes the run's bad rows of one table to a CSV file; undefined when every row passed. */
async function writeQuarantine(db: DuckDb, checked: string, table: string, file: SourceFile, outputDir: string): Promise<QuarantineOutput | undefined> {
  const [{ rows }] = (await db.all<{ rows: string }>(`SELECT count(*)::varchar AS rows FROM ${checked} WHERE len(_reasons) > 0`)) as [{ rows: string }]
  if (Number(rows) === 0) return undefined
  const path = join(outputDir, `_quarantine_${table}.csv`)
  const rawColumns = file.columns.map((c) => `_raw.${quoteIdent(c.name)} AS ${quoteIdent(c.name)}`).join(', ')
  await db.run(
    `COPY (SELECT array_to_string(_reasons, '; ') AS reason, ${quoteLiteral(file.key)} AS source_key, ${rawColumns} ` +
      `FROM ${checked} WHERE len(_reasons) > 0) TO ${quoteLiteral(path)} (FORMAT csv, HEADER true)`,
  )
  return { table, sourceKey: file.key, rows: Number(rows), path }
}

/**
 * read_csv over files that share one column list, every column as text, with
 * PostgreSQL's CSV conventions: an unquoted empty field is NULL, a quoted
 * empty field ("") is the empty string.
 */
function readCsvAsText(files: readonly SourceFile[]): string {
  const columns = files[0]!.columns.map((c) => `${quoteLiteral(c.name)}: 'VARCHAR'`).join(', ')
  const paths = files.map((f) => quoteLiteral(f.path)).join(', ')
  return (
    `read_csv([${paths}], header = true, auto_detect = false, columns = {${columns}}, ` +
    `delim = ',', quote = '"', escape = '"', allow_quoted_nulls = false, null_padding = false, filename = true)`
  )
}

function emptyRelation(columns: readonly ManifestColumn[]): string {
  return `SELECT ${columns.map((c) => `CAST(NULL AS ${duckdbTypeForPostgres(c.type)}) AS ${quoteIdent(c.name)}`).join(', ')}`
}

function groupByColumns(files: readonly SourceFile[]): SourceFile[][] {
  const groups = new Map<string, SourceFile[]>()
  for (const file of files) {
    const signature = JSON.stringify(file.columns.map((c) => [c.name, c.type]))
    groups.set(signature, [...(groups.get(signature) ?? []), file])
  }
  return [...groups.values()]
}

function contractColumnsDdl(model: ModelSpec): string {
  return model.table.columns.map((c) => `${quoteIdent(c.name)} ${duckdbTypeForColumn(c.type)}`).join(', ')
}

/** Names, order and types must match the contract; NOT NULL columns hold no null; dimension keys are unique. */
async function checkContract(db: DuckDb, model: ModelSpec): Promise<ManifestColumn[]> {
  const name = model.table.name
  const described = await db.all<{ column_name: string; column_type: string }>(`DESCRIBE ${quoteIdent(name)}`)
  const actual = described.map((d) => `${d.column_name} ${d.column_type}`)
  const expected = model.table.columns.map((c) => `${c.name} ${duckdbTypeForColumn(c.type)}`)
  if (actual.join(', ') !== expected.join(', ')) {
    throw new ModelContractError(
      `Model "${name}" does not match its contract. Expected columns: ${expected.join(', ')}. ` +
        `Got: ${actual.join(', ')}. Fix ${fileName(model)} or the table spec.`,
      { context: { model: name } },
    )
  }
  const notNull = model.table.columns.filter((c) => !c.nullable)
  const checks = [
    ...notNull.map((c) => `count(*) FILTER (WHERE ${quoteIdent(c.name)} IS NULL)::varchar AS ${quoteIdent(`null:${c.name}`)}`),
    ...(model.table.primaryKey
      ? [`(count(*) - count(DISTINCT (${model.table.primaryKey.map(quoteIdent).join(', ')})))::varchar AS "duplicate key"`]
      : []),
  ]
  if (checks.length > 0) {
    const [result] = await db.all<Record<string, string>>(`SELECT ${checks.join(', ')} FROM ${quoteIdent(name)}`)
    const broken = Object.entries(result ?? {}).filter(([, count]) => Number(count) > 0)
    if (broken.length > 0) {
      throw new ModelContractError(
        `Model "${name}" broke its contract: ${broken.map(([check, count]) => `${count} rows with ${check}`).join('; ')}.`,
        { context: { model: name } },
      )
    }
  }
  return described.map((d) => ({
    name: d.column_name,
    type: d.column_type,
    nullable: model.table.columns.find((c) => c.name === d.column_name)?.nullable ?? true,
  }))
}

function fileName(model: ModelSpec): string {
  return model.sqlFile.pathname.split('/').pop() ?? model.table.name
}

function stripTrailingSemicolon(sql: string): string {
  return sql.trim().replace(/;\s*$/, '')
}
