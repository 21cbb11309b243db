/**
 * The sink STARLINE_ALERT_SINK names: `stderr`, an http(s) URL, or an SNS
 * topic ARN. Unset, continuous mode alerts on stderr; a one-shot command
 * already says what failed (its error line and exit status), so its
 * incidents are recorded but sent nowhere.
 */
import type { Alert, AlertSink } from './alert-sink.js'
import { SnsAlertSink } from './sns-sink.js'
import { StderrAlertSink } from './stderr-sink.js'
import { WebhookAlertSink } from './webhook-sink.js'

export function openAlertSink(setting: string | undefined, options: { readonly continuous: boolean }): AlertSink {
  if (setting === undefined) return options.continuous ? new StderrAlertSink() : NOWHERE
  if (setting.startsWith('arn:')) return new SnsAlertSink(setting)
  if (setting.startsWith('http://') || setting.startsWith('https://')) return new WebhookAlertSink(setting)
  return new StderrAlertSink()
}

const NOWHERE: AlertSink = Object.freeze({ description: 'nowhere (STARLINE_ALERT_SINK is not set)', send: async (_alert: Alert) => {} })
