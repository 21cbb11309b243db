/**
 * Picks the source engine for a URL: the one place that knows which source
 * engines exist. The engine's module (and its driver) loads when the first
 * snapshot is opened, so commands that never extract never pay for it.
 */
import { SourceError } from './errors.js'
import type { Source, SourceSnapshot } from './source.js'

export interface OpenSourceOptions {
  /** The schema holding the source tables. */
  readonly schema: string
  /** The setting the URL came from, named in connection errors. */
  readonly setting?: string
  /** The zone the application stamps watermarks in (default the database's). */
  readonly timeZone?: string
}

const SOURCE_URL_SCHEMES = ['postgres:', 'postgresql:'] as const

export function openSource(url: string, options: OpenSourceOptions): Source {
  let scheme: string
  try {
    scheme = new URL(url).protocol
  } catch {
    throw new SourceError(`The source URL${options.setting ? ` in ${options.setting}` : ''} is not a valid URL.`)
  }
  if (!(SOURCE_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new SourceError(`Source URL scheme "${scheme}" is not supported: use postgres://user@host:5432/database.`)
  }
  let engine: Promise<Source> | undefined
  const load = (): Promise<Source> => {
    engine ??= import('./postgres/postgres-source.js').then(({ PostgresSource }) => new PostgresSource({ url, ...options }))
    return engine
  }
  return {
    describe: 'the source database',
    openSnapshot: async (snapshotOptions): Promise<SourceSnapshot> => (await load()).openSnapshot(snapshotOptions),
  }
}
