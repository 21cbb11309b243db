/**
 * The `starline` command. Each subcommand validates its configuration, calls
 * the same stage functions the Lambda handlers call, and prints a summary.
 * Exit status: 0 on success, 1 on failure (one line saying why), 2 on misuse,
 * 75 on a transient failure worth retrying.
 */
import { parseArgs } from 'node:util'
import { loadConfig } from '../../config/config.js'
import { ConfigError } from '../../config/errors.js'
import { isRetryable } from '../../core/retry.js'
import { messageOf } from '../../core/starline-error.js'
import { settingsHelp } from '../../config/settings.js'

/** EX_TEMPFAIL: the failure was transient, so a scheduler may simply try again. */
export const EXIT_RETRYABLE = 75

const HELP = `starline - keep an analytics warehouse in step with an operational PostgreSQL database

Usage: starline <command> [options]

Pipeline commands (configured from the environment; --config FILE overrides):
  extract      copy what changed in the source into the lake's ingestion zone (CSV)
  transform    build star-schema tables from new ingestion runs (Parquet)
  load         load new processed runs into the warehouse, each exactly once
  run          extract, transform and load in one go
  serve        a live dashboard over the warehouse, read-only:  [--port N] [--host H] (default 127.0.0.1:8765)

Source commands:
  generate     create and fill a ToteSys source:  --scale N [--seed N] [--until ISO-TIME] [--replace]
  simulate     advance a ToteSys source in time:  [--days N] [--seed N]
  demo         the whole pipeline on an embedded PostgreSQL, with nothing to set up:  [--scale N]
               [--warehouse postgres|duckdb] (duckdb: a file in .starline/demo/)

Parquet loader (docs/parquet-loader.md):
  load-parquet load Parquet prefixes into warehouse tables per a JSON spec:  --spec FILE [--json] [--force]
  example      write an example dataset and its spec:  twitter --out DIR [--rows N]

Options:
  --config FILE   JSON file whose settings override the environment
  --accept-schema-change
                  extract/run: carry on through removed or retyped source columns
  --source URL    source database for generate/simulate (default STARLINE_SOURCE_URL)
  --json          print the summary as JSON
  -h, --help      this help
  -v, --version   the version

Settings (environment variables; --config FILE overrides them):
${settingsHelp()}

Lake URLs are file:///absolute/path or s3://bucket/prefix; an s3:// lake reads the standard AWS
settings (AWS_REGION, credentials chain, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS).

Exit status: 0 success, 1 failure (fix the cause), 2 bad usage or configuration,
${EXIT_RETRYABLE} a transient failure (connection lost, lease held...): run again later.
`

export async function main(argv: readonly string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCliArgs>
  try {
    parsed = parseCliArgs(argv)
  } catch (error) {
    process.stderr.write(`starline: ${messageOf(error)}. See starline --help.\n`)
    return 2
  }
  const { values, positionals } = parsed
  const command = positionals[0]
  if (values.version) {
    process.stdout.write(`${await version()}\n`)
    return 0
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP)
    return 0
  }

  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130)
    process.stderr.write('starline: stopping after the current step (Ctrl-C again to quit at once)\n')
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    const print = (text: string, summary: unknown): void => {
      process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${text}\n`)
    }
    switch (command) {
      case 'extract':
      case 'transform':
      case 'load':
      case 'run': {
        // Each command loads only its own modules: start-up counts in every scheduled run.
        const config = loadConfig(values.config ? { file: values.config } : {})
        const { pipelineCommand } = await import('./pipeline-commands.js')
        await pipelineCommand(command, config, controller.signal, print, { acceptSchemaChange: values['accept-schema-change'] })
        return 0
      }
      case 'serve': {
        const config = loadConfig(values.config ? { file: values.config } : {})
        await (await import('./serve-command.js')).serveCommand(values, config, controller.signal)
        return 0
      }
      case 'generate':
        await (await import('./source-commands.js')).generateCommand(values, print)
        return 0
      case 'simulate':
        await (await import('./source-commands.js')).simulateCommand(values, print)
        return 0
      case 'demo':
        await (await import('./demo-command.js')).demoCommand(values, controller.signal)
        return 0
      case 'load-parquet':
        return await (await import('./loader-commands.js')).loadParquetCommand(values, EXIT_RETRYABLE)
      case 'example':
        return await (await import('./loader-commands.js')).exampleCommand(positionals[1], values)
      default:
        process.stderr.write(`starline: unknown command "${command}". See starline --help.\n`)
        return 2
    }
  } catch (error) {
    process.stderr.write(`starline: ${oneLine(messageOf(error))}\n`)
    if (error instanceof ConfigError) return 2
    return isRetryable(error) ? EXIT_RETRYABLE : 1
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function parseCliArgs(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      source: { type: 'string' },
      json: { type: 'boolean', default: false },
      scale: { type: 'string' },
      seed: { type: 'string' },
      until: { type: 'string' },
      days: { type: 'string' },
      warehouse: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      replace: { type: 'boolean', default: false },
      'accept-schema-change': { type: 'boolean', default: false },
      spec: { type: 'string' },
      force: { type: 'boolean', default: false },
      out: { type: 'string' },
      rows: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
      version: { type: 'boolean', short: 'v', default: false },
    },
  })
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises')
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
