/**
 * One alert per incident, and a recovery message when it clears, across
 * one-shot scheduled runs: each incident's history is a numbered series of
 * immutable objects in the lake, `_alerts/<incident>/<sequence>.json`. An
 * even sequence number raises the incident, an odd one resolves it.
 *
 * A transition is claimed by creating the next object (no overwrite), so of
 * two runners seeing the same change only one alerts. When the sink fails,
 * the claim is withdrawn and the next evaluation tries again: a missed page
 * is worse than a late one.
 */
import { ObjectExistsError } from '../../lake/errors.js'
import { ALERT_PREFIX } from '../../lake/keys.js'
import type { ObjectStore } from '../../lake/object-store.js'
import type { Logger } from '../logger.js'
import type { Alert, AlertSink, IncidentKind } from './alert-sink.js'

/** What one evaluation saw of an incident. */
export interface Observation {
  readonly incident: string
  readonly kind: IncidentKind
  readonly firing: boolean
  readonly title: string
  readonly detail: string
}

export interface IncidentState {
  readonly incident: string
  readonly open: boolean
  readonly sequence: number
  /** The last transition. */
  readonly last: Alert
}

/** Every incident's current state, from the lake. */
export async function readIncidents(store: ObjectStore): Promise<IncidentState[]> {
  const newest = new Map<string, { key: string; sequence: number }>()
  for await (const info of store.list(ALERT_PREFIX)) {
    const match = /^_alerts\/([\w.-]+)\/(\d{8})\.json$/.exec(info.key)
    if (!match) continue
    const sequence = Number(match[2])
    if ((newest.get(match[1]!)?.sequence ?? -1) < sequence) newest.set(match[1]!, { key: info.key, sequence })
  }
  const states: IncidentState[] = []
  for (const [incident, { key, sequence }] of newest) {
    const last = JSON.parse((await store.getBytes(key)).toString('utf8')) as Alert
    states.push({ incident, open: sequence % 2 === 0, sequence, last })
  }
  return states.sort((a, b) => a.incident.localeCompare(b.incident))
}

/**
 * Applies observations: raises incidents that started firing, resolves
 * those that stopped, and leaves the rest alone (one alert per incident).
 * Incidents not observed this time keep their state. Returns the alerts sent.
 */
export async function applyObservations(
  store: ObjectStore,
  sink: AlertSink,
  observations: readonly Observation[],
  logger: Logger,
  now: Date = new Date(),
): Promise<Alert[]> {
  const states = new Map((await readIncidents(store)).map((s) => [s.incident, s]))
  const sent: Alert[] = []
  for (const seen of observations) {
    const state = states.get(seen.incident)
    const open = state?.open ?? false
    if (seen.firing === open) continue
    const sequence = state === undefined ? 0 : state.sequence + 1
    const alert: Alert = {
      incident: seen.incident,
      kind: seen.kind,
      state: seen.firing ? 'raised' : 'resolved',
      at: now.toISOString(),
      title: seen.title,
      detail: seen.detail,
      ...(seen.firing || state === undefined ? {} : { raisedAt: state.last.at }),
    }
    const key = `${ALERT_PREFIX}${seen.incident}/${String(sequence).padStart(8, '0')}.json`
    try {
      await store.put(key, `${JSON.stringify(alert)}\n`)
    } catch (error) {
      if (error instanceof ObjectExistsError) continue // another runner made this transition and alerted
      throw error
    }
    try {
      await sink.send(alert)
      sent.push(alert)
      logger.info(alert.state === 'raised' ? 'alert raised' : 'alert resolved', { incident: alert.incident, sink: sink.description })
    } catch (error) {
      await store.delete(key).catch(() => {})
      logger.error('could not deliver an alert; it is tried again at the next run', { incident: alert.incident, error })
    }
  }
  return sent
}
