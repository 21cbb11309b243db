/**
 * The Parquet loader's commands, kept apart from the pipeline's:
 *
 *   starline load-parquet --spec FILE [--json] [--force]
 *   starline example twitter --out DIR [--rows N]
 *
 * `load-parquet` prints a per-table summary, or with --json the same
 * `{statusCode, body}` object the Lambda handler answers; it fails (exit 1)
 * on any non-200 answer.
 */
import { ConfigError } from '../../config/errors.js'
import { openObjectStore } from '../../lake/open-object-store.js'
import { readLoaderSpec } from '../../loader/loader-spec.js'
import { loaderAnswer, loadParquet, type LoadParquetSummary } from '../../pipeline/load-parquet.js'
import { openTableLoads } from '../open-table-loads.js'

export interface LoaderFlags {
  readonly spec?: string | undefined
  readonly json?: boolean | undefined
  readonly force?: boolean | undefined
  readonly out?: string | undefined
  readonly rows?: string | undefined
}

/** Runs `load-parquet`; returns the exit status (`exitRetryable` for a 503 answer: run again later). */
export async function loadParquetCommand(flags: LoaderFlags, exitRetryable: number, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (!flags.spec) throw new ConfigError('load-parquet needs --spec FILE (the JSON loader spec).')
  const url = env.STARLINE_WAREHOUSE_URL
  if (!url) throw new ConfigError('STARLINE_WAREHOUSE_URL is not set: set it to postgres://... or duckdb:///path/to/file.duckdb.')
  const specFile = flags.spec
  const answer = await loaderAnswer(async () => {
    const spec = await readLoaderSpec(specFile)
    const tableLoads = openTableLoads(url, {
      ...(env.STARLINE_SCRATCH_DIR ? { scratchDir: env.STARLINE_SCRATCH_DIR } : {}),
      ...(env.STARLINE_DUCKDB_MEMORY ? { memoryLimit: env.STARLINE_DUCKDB_MEMORY } : {}),
      ...(env.STARLINE_REDSHIFT_IAM_ROLE ? { redshiftIamRole: env.STARLINE_REDSHIFT_IAM_ROLE } : {}),
    })
    try {
      return await loadParquet({
        spec,
        tableLoads,
        openStore: openObjectStore,
        ...(flags.force ? { force: true } : {}),
        ...(env.STARLINE_SCRATCH_DIR ? { scratchDir: env.STARLINE_SCRATCH_DIR } : {}),
        ...(env.STARLINE_DUCKDB_MEMORY ? { duckdbMemory: env.STARLINE_DUCKDB_MEMORY } : {}),
      })
    } finally {
      await tableLoads.close()
    }
  })
  if (flags.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`)
  if (answer.statusCode !== 200) {
    const { error } = JSON.parse(answer.body) as { error: string }
    process.stderr.write(`starline: ${error}\n`)
    return answer.statusCode === 503 ? exitRetryable : 1
  }
  if (!flags.json) process.stdout.write(`${summaryText(JSON.parse(answer.body) as LoadParquetSummary)}\n`)
  return 0
}

function summaryText(summary: LoadParquetSummary): string {
  const lines = summary.tables.map((t) => {
    const what = t.skipped ? 'unchanged since its last load, skipped' : `${t.rows} rows (${t.mode}${t.created ? ', table created' : ''})`
    return `  ${summary.schema}.${t.name}: ${what} from ${t.files} file(s)`
  })
  return [`Loaded Parquet into schema ${summary.schema}:`, ...lines].join('\n')
}

/** Runs `example twitter --out DIR [--rows N]`. */
export async function exampleCommand(name: string | undefined, flags: LoaderFlags): Promise<number> {
  if (name !== 'twitter') throw new ConfigError(`Unknown example ${JSON.stringify(name ?? '')}: the examples are: twitter.`)
  if (!flags.out) throw new ConfigError('example twitter needs --out DIR (where the spec and the Parquet files go).')
  const rows = flags.rows === undefined ? undefined : Number(flags.rows)
  if (rows !== undefined && (!Number.isInteger(rows) || rows < 4)) throw new ConfigError(`--rows must be an integer of at least 4 (got ${flags.rows}).`)
  const { resolve } = await import('node:path')
  const { writeTwitterSample } = await import('../../datasets/twitter/twitter-sample.js')
  const summary = await writeTwitterSample(resolve(flags.out), rows === undefined ? {} : { rows })
  const counts = Object.entries(summary.rows).map(([table, n]) => `${table} ${n}`).join(', ')
  process.stdout.write(
    `Wrote the Twitter example to ${summary.dir}: ${summary.files.length} Parquet files (${counts} rows).\n` +
      `Load it with: STARLINE_WAREHOUSE_URL=... starline load-parquet --spec ${summary.specFile}\n`,
  )
  return 0
}
