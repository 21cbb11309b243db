/** Alerts as one line each on stderr: the default on a laptop. */
import type { Alert, AlertSink } from './alert-sink.js'

export class StderrAlertSink implements AlertSink {
  readonly description = 'stderr'
  readonly #write: (line: string) => void

  constructor(write: (line: string) => void = (line) => process.stderr.write(line)) {
    this.#write = write
  }

  async send(alert: Alert): Promise<void> {
    const mark = alert.state === 'raised' ? 'ALERT' : 'RESOLVED'
    this.#write(`starline: ${mark} ${alert.incident}: ${alert.title}. ${alert.detail}\n`)
  }
}
