/**
 * Alerts POSTed as JSON to a webhook (Slack/Teams workflows, PagerDuty
 * Events, a home-made receiver). The URL often carries a token in its path
 * or query, so only its origin is ever shown.
 */
import { AlertError } from '../errors.js'
import type { Alert, AlertSink } from './alert-sink.js'

export interface WebhookSinkOptions {
  /** How long one POST may take. Default 10 s. */
  readonly timeoutMs?: number
}

export class WebhookAlertSink implements AlertSink {
  readonly description: string
  readonly #url: string
  readonly #timeoutMs: number

  constructor(url: string, options: WebhookSinkOptions = {}) {
    this.#url = url
    this.description = `webhook ${new URL(url).origin}`
    this.#timeoutMs = options.timeoutMs ?? 10_000
  }

  async send(alert: Alert): Promise<void> {
    let response: Response
    try {
      response = await fetch(this.#url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'starline' },
        body: JSON.stringify({ source: 'starline', ...alert, text: `${alert.state === 'raised' ? 'ALERT' : 'RESOLVED'} ${alert.title}` }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (error) {
      throw new AlertError(`Cannot deliver the ${alert.incident} alert to the ${this.description}: ${(error as Error).message}. Check STARLINE_ALERT_SINK.`, {
        cause: error,
        retryable: true,
      })
    }
    await response.body?.cancel()
    if (!response.ok) {
      throw new AlertError(`The ${this.description} refused the ${alert.incident} alert with HTTP ${response.status}. Check STARLINE_ALERT_SINK.`, {
        retryable: response.status >= 500 || response.status === 429,
      })
    }
  }
}
