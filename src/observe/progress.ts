/**
 * Progress of long work (a first full extract, a big load) as one line
 * rewritten in place on a terminal: stage, what it is on, rows so far and
 * the rate. Off a terminal (logs, CI, pipes) it writes nothing: the stage's
 * summary and log lines say the same once.
 */
export interface Progress {
  /** `rows` more were done by `stage`, now working on `item` (a table, a run). */
  add(stage: string, item: string, rows: number): void
  /** Clears the line; the next output starts on a clean line. */
  done(): void
}

export const noProgress: Progress = Object.freeze({ add: () => {}, done: () => {} })

export interface ProgressStream {
  readonly isTTY?: boolean
  write(text: string): unknown
}

/** A progress line on `stream` when it is a terminal; otherwise nothing. */
export function createProgress(stream: ProgressStream, options: { readonly minIntervalMs?: number; readonly now?: () => number } = {}): Progress {
  if (!stream.isTTY) return noProgress
  const now = options.now ?? Date.now
  const minInterval = options.minIntervalMs ?? 100
  let started: number | undefined
  let stageName = ''
  let rows = 0
  let lastDrawn = 0
  let shown = false
  return {
    add(stage, item, more) {
      const t = now()
      if (stage !== stageName) {
        stageName = stage
        started = t
        rows = 0
      }
      rows += more
      // Redrawing on every table of a busy run would cost more than the work it shows.
      if (t - lastDrawn < minInterval) return
      lastDrawn = t
      const seconds = Math.max((t - (started ?? t)) / 1000, 0.001)
      const rate = Math.round(rows / seconds)
      stream.write(`\r\x1b[K${stage}: ${item}, ${rows.toLocaleString('en-GB')} rows, ${rate.toLocaleString('en-GB')} rows/s`)
      shown = true
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
      shown = false
      stageName = ''
    },
  }
}
