/**
 * `starline generate` and `starline simulate`: create a ToteSys source, and
 * move it forward in time, for demos, tests and benchmarks.
 */
import { ConfigError } from '../../config/errors.js'
import { generateTotesys } from '../../datasets/totesys/generator.js'
import { simulateActivity } from '../../datasets/totesys/simulator.js'
import { formatTable, seconds } from '../../observe/summary-text.js'
import { connectSource } from '../../source/postgres/postgres-source.js'

interface SourceCommandValues {
  readonly source?: string | undefined
  readonly scale?: string | undefined
  readonly seed?: string | undefined
  readonly until?: string | undefined
  readonly days?: string | undefined
  readonly replace?: boolean | undefined
}

type Print = (text: string, summary: unknown) => void

export async function generateCommand(values: SourceCommandValues, print: Print): Promise<void> {
  const url = sourceUrl(values)
  const scale = positiveNumber(values.scale ?? '1', '--scale')
  const seed = values.seed === undefined ? undefined : integer(values.seed, '--seed')
  const until = values.until === undefined ? undefined : date(values.until, '--until')
  const client = await connectSource(url, { setting: values.source ? '--source' : 'STARLINE_SOURCE_URL' })
  const started = Date.now()
  try {
    const summary = await generateTotesys(client, {
      scale,
      replace: values.replace ?? false,
      ...(seed === undefined ? {} : { seed }),
      ...(until === undefined ? {} : { until }),
    })
    const total = Object.values(summary.rows).reduce((a, b) => a + b, 0)
    print(
      `generate: ToteSys at scale ${scale}, ${total.toLocaleString('en-GB')} rows from ${summary.from.toISOString()} until ${summary.until.toISOString()} (${seconds(Date.now() - started)})\n` +
        formatTable(['table', 'rows'], Object.entries(summary.rows)),
      summary,
    )
  } finally {
    await client.end()
  }
}

export async function simulateCommand(values: SourceCommandValues, print: Print): Promise<void> {
  const url = sourceUrl(values)
  const days = positiveNumber(values.days ?? '1', '--days')
  const seed = values.seed === undefined ? undefined : integer(values.seed, '--seed')
  const client = await connectSource(url, { setting: values.source ? '--source' : 'STARLINE_SOURCE_URL' })
  try {
    const summary = await simulateActivity(client, { days, ...(seed === undefined ? {} : { seed }) })
    print(
      `simulate: ${summary.from.toISOString()} -> ${summary.to.toISOString()}: ` +
        `${summary.salesOrders} sales orders, ${summary.purchaseOrders} purchase orders, ${summary.paymentsPaid} payments paid, ` +
        `${summary.newDesigns} new designs, ${summary.silentDesignEdits.length} silent design edits`,
      summary,
    )
  } finally {
    await client.end()
  }
}

function sourceUrl(values: SourceCommandValues): string {
  const url = values.source ?? process.env.STARLINE_SOURCE_URL
  if (!url) throw new ConfigError('No source database: pass --source postgres://... or set STARLINE_SOURCE_URL.')
  return url
}

function positiveNumber(value: string, name: string): number {
  const number = Number(value)
  if (!Number.isFinite(number) || number <= 0) throw new ConfigError(`${name} must be a positive number; got ${JSON.stringify(value)}.`)
  return number
}

function integer(value: string, name: string): number {
  const number = Number(value)
  if (!Number.isSafeInteger(number)) throw new ConfigError(`${name} must be an integer; got ${JSON.stringify(value)}.`)
  return number
}

function date(value: string, name: string): Date {
  const parsed = new Date(value)
  if (Number.isNaN(parsed.getTime())) throw new ConfigError(`${name} must be an ISO date-time such as 2024-11-01T00:00:00Z; got ${JSON.stringify(value)}.`)
  return parsed
}
