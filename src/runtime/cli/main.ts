/**
 * The `starline` command, on commander: one page of help per command with
 * examples, unknown flags rejected per command, and exit statuses a
 * scheduler can act on (see exit-status.ts). Each command loads its own
 * modules on demand: start-up counts in every scheduled run.
 */
import { readFileSync } from 'node:fs'
import { Command, CommanderError, Option } from 'commander'
import { messageOf } from '../../core/starline-error.js'
import { LOG_LEVELS } from '../../core/log-level.js'
import { EXIT, exitStatusOf } from './exit-status.js'
import { settingsHelp } from '../../config/settings.js'

/** EX_TEMPFAIL: the failure was transient, so a scheduler may simply try again (see exit-status.ts). */
export const EXIT_RETRYABLE = EXIT.retryable

/** Options every pipeline command takes, as commander parsed them. */
export interface CommonFlags {
  readonly config?: string
  readonly logLevel?: (typeof LOG_LEVELS)[number]
  readonly json?: boolean
}

/** Flags of load-parquet and example. */
type LoaderFlags = { spec?: string; force?: boolean; json?: boolean; out?: string; rows?: string }

/** Flags of generate and simulate. */
type SourceFlags = { json?: boolean; source?: string; scale?: string; seed?: string; until?: string; days?: string; replace?: boolean }

type Print = (text: string, summary: unknown) => void

export async function main(argv: readonly string[]): Promise<number> {
  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted)
    process.stderr.write('starline: stopping after the current step (Ctrl-C again to quit at once)\n')
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let status: number = EXIT.ok
  const program = buildProgram(controller.signal, (code) => (status = code))
  try {
    if (argv.length === 0) {
      program.outputHelp()
      return EXIT.ok
    }
    await program.parseAsync(commandFirst(argv), { from: 'user' })
    return status
  } catch (error) {
    if (error instanceof CommanderError) return usageError(error, argv)
    process.stderr.write(`starline: ${oneLine(messageOf(error))}\n`)
    return exitStatusOf(error)
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

function buildProgram(signal: AbortSignal, setStatus: (code: number) => void): Command {
  const program = new Command('starline')
    .description('Keep an analytics warehouse in step with an operational PostgreSQL database.')
    .usage('<command> [options]')
    .exitOverride()
    .configureOutput({ writeErr: () => {} }) // usage errors are printed once, by usageError
    .helpCommand('help [command]', 'help for a command')
    .version(version(), '-v, --version', 'print the version')
    .addHelpText('after', `\nSettings (environment variables; --config FILE overrides them):\n${settingsHelp()}\n\nLake URLs are file:///absolute/path or s3://bucket/prefix; an s3:// lake reads the standard AWS settings\n(AWS_REGION, credentials chain, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS).\n\nExit status: 0 ok, 1 failure, 2 usage or configuration, 75 a retryable failure (run again later).\n`)

  const pipeline = (name: 'extract' | 'transform' | 'load' | 'run', description: string, examples: string) => {
    const command = withCommonOptions(program.command(name).description(description))
      .option('--dry-run', 'show what would move, write nothing (no lake object, no lease, no warehouse change)')
      .addHelpText('after', `\nExamples:\n${examples}`)
    return command
  }
  pipeline('extract', 'copy what changed in the source into the lake\'s ingestion zone (CSV)', [
    '  $ starline extract',
    '  $ starline extract --dry-run            # the window and rows per table that would be copied',
    '  $ starline extract --accept-schema-change',
    '',
  ].join('\n'))
    .option('--accept-schema-change', 'carry on through removed or retyped source columns (after updating the models)')
    .action(async (flags: CommonFlags & { dryRun?: boolean; acceptSchemaChange?: boolean }) => {
      await runPipelineCommand('extract', flags, signal)
    })
  pipeline('transform', 'build star-schema tables from new ingestion runs (Parquet)', '  $ starline transform\n  $ starline transform --dry-run --json\n')
    .action(async (flags: CommonFlags & { dryRun?: boolean }) => runPipelineCommand('transform', flags, signal))
  pipeline('load', 'load new processed runs into the warehouse, each exactly once', '  $ starline load\n  $ starline load --dry-run\n')
    .action(async (flags: CommonFlags & { dryRun?: boolean }) => runPipelineCommand('load', flags, signal))
  pipeline('run', 'extract, transform and load in one go; or on a schedule with --every/--cron', [
    '  $ starline run',
    '  $ starline run --every 5m               # a cycle every 5 minutes until Ctrl-C or SIGTERM',
    '  $ starline run --cron "*/15 * * * *"    # at minutes 0, 15, 30 and 45',
    '  $ starline run --dry-run',
    '',
  ].join('\n'))
    .option('--accept-schema-change', 'carry on through removed or retyped source columns (after updating the models)')
    .addOption(new Option('--every <duration>', 'run a cycle every <duration> (30s, 5m, 1h) until stopped').conflicts(['cron', 'dryRun']))
    .addOption(new Option('--cron <expression>', 'run a cycle at the times of a cron expression (UTC) until stopped').conflicts('dryRun'))
    .action(async (flags: CommonFlags & { dryRun?: boolean; acceptSchemaChange?: boolean; every?: string; cron?: string }) => {
      if (flags.every !== undefined || flags.cron !== undefined) {
        const { continuousCommand } = await import('./continuous-command.js')
        setStatus(await continuousCommand(await configFrom(flags), flags, signal))
        return
      }
      await runPipelineCommand('run', flags, signal)
    })

  withCommonOptions(program.command('rebuild').description('reload the warehouse from the lake into fresh tables and swap them in (after drift)'))
    .option('--yes', 'go ahead without asking (needed where there is no terminal to ask on)')
    .option('--dry-run', 'say what would be done, change nothing')
    .addHelpText('after', '\nExamples:\n  $ starline rebuild --dry-run\n  $ starline rebuild --yes\n')
    .action(async (flags: CommonFlags & { yes?: boolean; dryRun?: boolean }) => {
      const { rebuildCommand } = await import('./rebuild-command.js')
      setStatus(await rebuildCommand(await configFrom(flags), flags, signal, printer(flags)))
    })

  program
    .command('serve')
    .description('a live dashboard over the warehouse, read-only (default 127.0.0.1:8765)')
    .option('--port <n>', 'the port to listen on (default 8765)')
    .option('--host <host>', 'the interface to serve on (default 127.0.0.1; another is an explicit choice)')
    .option('--config <file>', 'JSON file whose settings override the environment')
    .addOption(new Option('--log-level <level>', 'log threshold (overrides STARLINE_LOG_LEVEL)').choices(LOG_LEVELS))
    .addHelpText('after', '\nExamples:\n  $ starline serve\n  $ starline serve --port 9000 --log-level debug\n')
    .action(async (flags: { port?: string; host?: string } & CommonFlags) => {
      const config = await configFrom(flags)
      await (await import('./serve-command.js')).serveCommand(flags, config, signal)
    })

  withCommonOptions(program.command('status').description('freshness, last runs, quarantined and held rows, last failures; reads the lake and the ledger only'))
    .addHelpText('after', '\nExamples:\n  $ starline status\n  $ starline status --json | jq \'.warehouse[] | select(.fresh == false)\'\n')
    .action(async (flags: CommonFlags) => {
      const { statusCommand } = await import('./status-command.js')
      setStatus(await statusCommand(await configFrom(flags), printer(flags)))
    })

  program
    .command('generate')
    .description('create and fill a ToteSys source database')
    .option('--source <url>', 'the source database (default STARLINE_SOURCE_URL)')
    .option('--scale <n>', 'size: 1 is about 49,000 rows', '1')
    .option('--seed <n>', 'random seed, for a repeatable source')
    .option('--until <iso-time>', 'history ends at this time (default now)')
    .option('--replace', 'drop an existing ToteSys schema first')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  $ starline generate --scale 10 --source postgres://me@localhost/totesys\n  $ starline generate --scale 1 --until 2024-11-19T00:00:00Z --replace\n')
    .action(async (flags: SourceFlags) => (await import('./source-commands.js')).generateCommand(flags, printer(flags)))
  program
    .command('simulate')
    .description('advance a ToteSys source in time: new orders, payments paid, silent design edits')
    .option('--source <url>', 'the source database (default STARLINE_SOURCE_URL)')
    .option('--days <n>', 'how many days to advance', '1')
    .option('--seed <n>', 'random seed')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  $ starline simulate --days 1\n  $ starline simulate --days 0.01   # about a quarter of an hour\n')
    .action(async (flags: SourceFlags) => (await import('./source-commands.js')).simulateCommand(flags, printer(flags)))
  program
    .command('demo')
    .description('the whole pipeline on an embedded PostgreSQL, with nothing to set up')
    .option('--scale <n>', 'size of the generated source', '1')
    .option('--warehouse <engine>', 'postgres (embedded) or duckdb (a file in .starline/demo/)', 'postgres')
    .addHelpText('after', '\nExamples:\n  $ starline demo\n  $ starline demo --scale 10\n  $ starline demo --warehouse duckdb\n')
    .action(async (flags: { scale?: string; warehouse?: string }) => (await import('./demo-command.js')).demoCommand(flags, signal))
  program
    .command('load-parquet')
    .description('load Parquet prefixes into warehouse tables per a JSON spec (docs/parquet-loader.md)')
    .option('--spec <file>', 'the JSON loader spec')
    .option('--force', 'load every file again, even those unchanged since their last load')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  $ starline example twitter --out /tmp/twitter\n  $ starline load-parquet --spec /tmp/twitter/spec.json\n')
    .action(async (flags: LoaderFlags) => setStatus(await (await import('./loader-commands.js')).loadParquetCommand(flags, EXIT.retryable)))
  program
    .command('example')
    .description('write an example dataset and its loader spec')
    .argument('[name]', 'the example: twitter')
    .option('--out <dir>', 'where the spec and the Parquet files go')
    .option('--rows <n>', 'how many rows to generate')
    .addHelpText('after', '\nExamples:\n  $ starline example twitter --out /tmp/twitter --rows 1000\n')
    .action(async (name: string | undefined, flags: LoaderFlags) => setStatus(await (await import('./loader-commands.js')).exampleCommand(name, flags)))
  return program
}

function withCommonOptions(command: Command): Command {
  return command
    .option('--config <file>', 'JSON file whose settings override the environment')
    .addOption(new Option('--log-level <level>', 'log threshold (overrides STARLINE_LOG_LEVEL)').choices(LOG_LEVELS))
    .option('--json', 'print the result as JSON')
}

async function runPipelineCommand(
  command: 'extract' | 'transform' | 'load' | 'run',
  flags: CommonFlags & { dryRun?: boolean; acceptSchemaChange?: boolean },
  signal: AbortSignal,
): Promise<void> {
  const config = await configFrom(flags)
  const { pipelineCommand } = await import('./pipeline-commands.js')
  await pipelineCommand(command, config, signal, printer(flags), { acceptSchemaChange: flags.acceptSchemaChange ?? false, dryRun: flags.dryRun ?? false })
}

async function configFrom(flags: CommonFlags) {
  const { loadConfig } = await import('../../config/config.js')
  const config = loadConfig(flags.config ? { file: flags.config } : {})
  return flags.logLevel ? { ...config, logLevel: flags.logLevel } : config
}

function printer(flags: { readonly json?: boolean }): Print {
  return (text, summary) => process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : `${text}\n`)
}

/** Flags that take a value, for telling a flag's value from the command's name. */
const VALUE_FLAGS = new Set(['--config', '--log-level', '--source', '--scale', '--seed', '--until', '--days', '--every', '--cron', '--warehouse', '--spec', '--out', '--rows', '--port', '--host'])

/**
 * `starline --json run` as `starline run --json`: the command line before
 * commander accepted flags before the command, and scripts may still put them there.
 */
function commandFirst(argv: readonly string[]): string[] {
  const i = commandIndex(argv)
  if (i === 0 || i >= argv.length) return [...argv]
  return [argv[i]!, ...argv.slice(0, i), ...argv.slice(i + 1)]
}

/** Where the command's name is: after any leading flags and their values. */
function commandIndex(argv: readonly string[]): number {
  let i = 0
  while (i < argv.length && argv[i]!.startsWith('-') && !['-h', '--help', '-v', '--version'].includes(argv[i]!)) {
    i += VALUE_FLAGS.has(argv[i]!) ? 2 : 1
  }
  return i
}

/** One line naming the command and where its help is. */
function usageError(error: CommanderError, argv: readonly string[]): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return EXIT.ok
  const command = argv[commandIndex(argv)]
  if (error.code === 'commander.unknownCommand') {
    process.stderr.write(`starline: unknown command "${command}". See starline --help.\n`)
    return EXIT.usage
  }
  const message = error.message.replace(/^error: /, '')
  const schedule = /unknown option '(--every|--cron)'/.exec(message)?.[1]
  if (schedule !== undefined && command !== 'run') {
    process.stderr.write(`starline ${command}: ${schedule} belongs to run, which it repeats: starline run ${schedule} <when>. See starline run --help.\n`)
    return EXIT.usage
  }
  const where = command && command !== 'help' ? `starline ${command}` : 'starline'
  process.stderr.write(`${where}: ${oneLine(message).replace(/\.$/, '')}. See ${where} --help.\n`)
  return EXIT.usage
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ')
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
