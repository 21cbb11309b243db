/**
 * A preload for the bench's profiling replays (never for the timed runs):
 * `node --import tsx --import bench/query-timer.ts bin/starline.js <stage>`
 * times every statement the stage sends to PostgreSQL through `pg`, COPY
 * streams included (from the call to the stream's end), and writes them to
 * the file named by BENCH_QUERY_LOG when the process exits.
 *
 * NOTE: it patches pg.Client.prototype.query, which starline's clients and
 * pools share: `pg` is CommonJS, so this import and starline's resolve to
 * the same module instance.
 */
import { writeFileSync } from 'node:fs'
import pg from 'pg'

export interface TimedQuery {
  readonly sql: string
  readonly ms: number
  /** ms since the process started timing. */
  readonly at: number
}

const logFile = process.env.BENCH_QUERY_LOG
const timings: TimedQuery[] = []
const origin = performance.now()

if (logFile) {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
  const original = prototype.query
  prototype.query = function timedQuery(this: unknown, ...args: unknown[]): unknown {
    const config = args[0] as string | { text?: string } | undefined
    const sql = (typeof config === 'string' ? config : (config?.text ?? '?')).replace(/\s+/g, ' ').trim()
    const started = performance.now()
    const record = () => timings.push({ sql, ms: performance.now() - started, at: started - origin })
    const last = args.length - 1
    if (typeof args[last] === 'function') {
      // The callback form (pg.Pool.query uses it) returns nothing to listen to.
      const callback = args[last] as (...results: unknown[]) => unknown
      args[last] = (...results: unknown[]) => {
        record()
        return callback(...results)
      }
      return original.apply(this, args)
    }
    const result = original.apply(this, args) as { then?: unknown; once?: (event: string, listener: () => void) => void } | undefined
    if (result && typeof result.then === 'function') {
      ;(result as Promise<unknown>).then(record, record)
    } else if (result && typeof result.once === 'function') {
      // A COPY stream: TO STDOUT ends with 'end', FROM STDIN with 'finish'; 'error' either way.
      let done = false
      const once = () => {
        if (!done) record()
        done = true
      }
      for (const event of ['end', 'finish', 'error']) result.once(event, once)
    }
    return result
  }
  process.once('exit', () => writeFileSync(logFile, JSON.stringify(timings)))
}
