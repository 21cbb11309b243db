/**
 * The alert contract: an incident raised or resolved, and a sink that
 * delivers it (a webhook, an SNS topic, stderr). Sinks are pluggable; the
 * incident bookkeeping (one alert per incident) lives in incidents.ts.
 */
export const INCIDENT_KINDS = ['failure', 'freshness', 'held'] as const
export type IncidentKind = (typeof INCIDENT_KINDS)[number]

export interface Alert {
  /** The incident's name, stable across runs: `failure-extract`, `freshness`, `held`. */
  readonly incident: string
  readonly kind: IncidentKind
  /** `raised` when it starts, `resolved` when it clears (the recovery message). */
  readonly state: 'raised' | 'resolved'
  /** When this state began (ISO time). */
  readonly at: string
  /** One line for a pager or a chat channel. */
  readonly title: string
  /** What was observed: table names, ages, the failure's reason. No row contents, no secrets. */
  readonly detail: string
  /** For `resolved`: when the incident was raised. */
  readonly raisedAt?: string
}

export interface AlertSink {
  /** Where alerts go, safe to log (no token, no query string). */
  readonly description: string
  /** Delivers one alert; throws when it could not (the incident is then retried next time). */
  send(alert: Alert): Promise<void>
}
