/**
 * Alerts published to an SNS topic (in the cloud, the topic the failure
 * alarms already e-mail). The AWS SDK is loaded on first use, so commands
 * that never alert do not pay its start-up.
 */
import type { SNSClient } from '@aws-sdk/client-sns'
import { AlertError } from '../errors.js'
import type { Alert, AlertSink } from './alert-sink.js'

export class SnsAlertSink implements AlertSink {
  readonly description: string
  readonly #topicArn: string
  #client: SNSClient | undefined

  /** `client` lets tests and Lambda pass their own; otherwise one is made from the environment. */
  constructor(topicArn: string, client?: SNSClient) {
    this.#topicArn = topicArn
    this.description = `SNS topic ${topicArn}`
    this.#client = client
  }

  async send(alert: Alert): Promise<void> {
    const { PublishCommand, SNSClient } = await import('@aws-sdk/client-sns')
    // The topic's region is in its ARN: arn:aws:sns:<region>:<account>:<name>.
    this.#client ??= new SNSClient({ region: this.#topicArn.split(':')[3] })
    const mark = alert.state === 'raised' ? 'ALERT' : 'RESOLVED'
    try {
      await this.#client.send(
        new PublishCommand({
          TopicArn: this.#topicArn,
          // SNS subjects: at most 100 printable ASCII characters.
          Subject: `starline ${mark}: ${alert.incident}`.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
          Message: JSON.stringify({ source: 'starline', ...alert }, null, 2),
          MessageAttributes: {
            incident: { DataType: 'String', StringValue: alert.incident },
            state: { DataType: 'String', StringValue: alert.state },
          },
        }),
      )
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode
      throw new AlertError(`Cannot publish the ${alert.incident} alert to the ${this.description}: ${(error as Error).message}. Check STARLINE_ALERT_SINK and the credentials.`, {
        cause: error,
        retryable: status === undefined || status >= 500 || status === 429,
      })
    }
  }
}
