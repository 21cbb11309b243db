/**
 * A stage's lease: an object created exclusively at `_leases/<stage>.json`
 * before the stage writes anything, renewed while the stage works, and
 * removed when it finishes. It keeps two runners from working the same zone
 * at once, and it tells the next runner which run a crashed one left
 * half-written.
 *
 * A lease is stale when its holder is gone: on the same host, its process no
 * longer exists; elsewhere (Lambda), it has passed its expiry without being
 * renewed. Every change to a lease that exists is a compare-and-swap
 * (`ObjectStore.replaceIf`: S3 `If-Match`, an atomic rename scheme on disk),
 * so of two runners replacing one stale lease only one wins, and a runner
 * killed mid-takeover leaves nothing that blocks the next.
 */
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import { currentProcess, ownerState, pidExists } from '../core/process-identity.js'
import { LeaseHeldError, ObjectExistsError } from './errors.js'
import { leaseKey } from './keys.js'
import type { ObjectStore, VersionedBytes } from './object-store.js'
import { LeaseRenewal, type RenewalOptions } from './lease-renewal.js'

export interface LeaseRecord {
  readonly stage: string
  readonly runId: string
  readonly host: string
  readonly pid: number
  readonly acquiredAt: string
  readonly expiresAt: string
  /**
   * The holder's pid namespace, boot and start time (core/process-identity.ts):
   * with them, a pid is judged only where it means the same process (absent
   * in records of earlier versions and where the system cannot tell).
   */
  readonly pidNamespace?: string
  readonly bootId?: string
  readonly startTicks?: string
  /** When the holder last extended the lease (absent until its first renewal). */
  readonly renewedAt?: string
  /**
   * Random, per acquisition: two acquirers in one process in the same
   * millisecond (same run id, host, pid and time) still write different
   * bytes, so a runner re-reading after a lost answer knows its own write.
   */
  readonly nonce?: string
}

export interface Lease {
  /** The record as acquired. */
  readonly record: LeaseRecord
  /** The record of the stale lease this one replaced, for the caller to clean up after. */
  readonly replaced?: LeaseRecord
  /**
   * Whether the lease is still this runner's and safe to publish under: not
   * taken over, and its last expiry this runner wrote lies at least the
   * safety margin ahead of the clock (renewals that keep failing let it run
   * out, and a lapsed lease may be taken over at any moment).
   */
  isHeld(): Promise<boolean>
  /** Pushes the expiry to a full time to live from `now`; false when the lease is no longer this runner's. */
  renew(now?: Date): Promise<boolean>
  /** Renews in the background (every third of the time to live by default) until `stopRenewal` or `release`. */
  startRenewal(options?: RenewalOptions): void
  /** Stops background renewal and waits for a renewal in flight. */
  stopRenewal(): Promise<void>
  /** Stops renewal and removes the lease if it is still this runner's. */
  release(): Promise<void>
}

export interface AcquireOptions {
  readonly ttlMs: number
  readonly now?: Date
  /** Who holds the lease; defaults to this process on this host (other values are for tests). */
  readonly holder?: { readonly host: string; readonly pid: number }
  /** The time as the lease judges it after acquiring (renewal, `isHeld`); default the system clock. Tests set it. */
  readonly clock?: () => Date
  /**
   * How much of its time to live the lease must still have for `isHeld` to
   * say yes: the time a publish may take. Default a tenth of the time to
   * live, at most 30 s.
   */
  readonly safetyMarginMs?: number
}

/** The default safety margin for a time to live: a tenth of it, at most 30 s. */
export function defaultSafetyMarginMs(ttlMs: number): number {
  return Math.min(Math.floor(ttlMs / 10), 30_000)
}

export async function acquireLease(store: ObjectStore, stage: string, runId: string, options: AcquireOptions): Promise<Lease> {
  const key = leaseKey(stage)
  const now = options.now ?? new Date()
  const record: LeaseRecord = {
    stage,
    runId,
    host: options.holder?.host ?? thisHost(),
    pid: options.holder?.pid ?? process.pid,
    ...(options.holder === undefined ? placeOfThisProcess() : {}),
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
    nonce: randomBytes(8).toString('hex'),
  }
  const body = JSON.stringify(record)
  // The stale holder this runner last tried to swap out: a swap whose answer was lost may still have landed.
  let swappedOut: LeaseRecord | undefined
  // A few rounds: each either takes a free lease, or swaps out one stale holder.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryPut(store, key, body)) return heldLease(store, key, record, undefined, options, undefined)
    const held = await readLease(store, key)
    if (held === undefined) continue // released in between: try again
    // Our own write landed but its answer was lost (a client retry then met the object it had written): it is ours.
    if (held.bytes.toString('utf8') === body) return takenOver(store, key, record, held.version, options, swappedOut)
    if (held.record && !isStale(held.record, now)) throw heldError(store, stage, key, held.record)
    // Stale: replace exactly the bytes judged stale. A racer that swapped first changed the version, so this fails.
    swappedOut = held.record
    const version = await store.replaceIf(key, body, held.version).catch(async (error: unknown) => {
      // The answer was lost, not necessarily the write: the lease's bytes tell.
      const after = await store.getVersioned(key).catch(() => undefined)
      if (after?.bytes.toString('utf8') === body) return after.version
      throw error
    })
    if (version !== undefined) return takenOver(store, key, record, version, options, held.record)
  }
  throw new LeaseHeldError(`Cannot take the ${stage} lease at "${key}" in ${store.root}: other runners keep taking it. Try again.`, {
    retryable: true,
    context: { stage, key },
  })
}

async function takenOver(
  store: ObjectStore,
  key: string,
  record: LeaseRecord,
  version: string,
  options: AcquireOptions,
  replaced: LeaseRecord | undefined,
): Promise<Lease> {
  if (replaced !== undefined) await removeTakeoverClaims(store, key)
  return heldLease(store, key, record, version, options, replaced)
}

/** Whether a lease's bytes name this holder (same run, host, pid, acquisition), whatever expiry they carry. */
function sameHolder(bytes: Buffer, record: LeaseRecord): boolean {
  try {
    const found = JSON.parse(bytes.toString('utf8')) as Partial<LeaseRecord> | null
    return (
      found?.stage === record.stage && found.runId === record.runId && found.host === record.host &&
      found.pid === record.pid && found.acquiredAt === record.acquiredAt && found.nonce === record.nonce
    )
  } catch {
    return false
  }
}

function expiryIn(bytes: Buffer): number {
  try {
    return Date.parse(String((JSON.parse(bytes.toString('utf8')) as Partial<LeaseRecord>).expiresAt))
  } catch {
    return Number.NaN
  }
}

function heldLease(
  store: ObjectStore,
  key: string,
  record: LeaseRecord,
  version: string | undefined,
  options: AcquireOptions,
  replaced: LeaseRecord | undefined,
): Lease {
  const { ttlMs } = options
  const clock = options.clock ?? (() => new Date())
  const marginMs = options.safetyMarginMs ?? defaultSafetyMarginMs(ttlMs)
  // The version this runner last knew (a plain put returns none), and the expiry it last wrote.
  let currentVersion = version
  let expiresAt = Date.parse(record.expiresAt)
  let lost = false
  const renewal = new LeaseRenewal(ttlMs)
  // One lease operation at a time: a check must not read a renewal's new bytes before the state knows them.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = queue.then(operation)
    queue = run.catch(() => {})
    return run
  }
  /**
   * Re-reads the lease and adopts what it holds when it is still this
   * holder's: a renewal whose answer was lost may have landed, and then the
   * stored bytes carry that renewal's expiry, not the one last known here.
   */
  const reread = async (): Promise<boolean> => {
    const found = await store.getVersioned(key)
    if (found === undefined || !sameHolder(found.bytes, record)) {
      lost = true
      return false
    }
    currentVersion = found.version
    const stored = expiryIn(found.bytes)
    if (!Number.isNaN(stored)) expiresAt = stored
    return true
  }
  const isHeld = async (): Promise<boolean> => {
    if (lost) return false
    if (!(await reread())) return false
    // Held, but too close to its expiry to publish under: a runner elsewhere may take it over mid-publish.
    return clock().getTime() + marginMs < expiresAt
  }
  const renew = async (now = clock()): Promise<boolean> => {
    if (lost) return false
    const nextExpiry = now.getTime() + ttlMs
    const next = JSON.stringify({ ...record, expiresAt: new Date(nextExpiry).toISOString(), renewedAt: now.toISOString() })
    // Two rounds: a swap can fail without a takeover (the version was unknown, or a racer's failed swap moved it briefly).
    for (let round = 0; round < 2; round++) {
      if (currentVersion !== undefined) {
        let swapped: string | undefined
        try {
          swapped = await store.replaceIf(key, next, currentVersion)
        } catch (error) {
          // A lost answer: the write may have landed. Learn which before the next renewal compares versions.
          await reread().catch(() => {})
          throw error
        }
        if (swapped !== undefined) {
          currentVersion = swapped
          expiresAt = nextExpiry
          return true
        }
      }
      if (!(await reread())) return false
      // A retried swap that met its own landed write: the lease already holds this renewal.
      if (expiresAt === nextExpiry) return true
    }
    return !lost
  }
  return {
    record,
    ...(replaced ? { replaced } : {}),
    isHeld: () => serial(isHeld),
    renew: (now) => serial(() => renew(now)),
    startRenewal: (renewalOptions) => renewal.start(() => serial(() => renew()), renewalOptions),
    stopRenewal: () => renewal.stop(),
    release: async () => {
      await renewal.stop()
      await serial(async () => {
        // Only while still this runner's: after an overrun another runner may hold it, and keeps it.
        const found = await store.getVersioned(key)
        if (found !== undefined && sameHolder(found.bytes, record)) await store.deleteIf(key, found.version)
      })
    },
  }
}

async function tryPut(store: ObjectStore, key: string, body: string): Promise<boolean> {
  try {
    await store.put(key, body)
    return true
  } catch (error) {
    if (error instanceof ObjectExistsError) return false
    throw error
  }
}

/**
 * Earlier versions claimed a takeover with `<lease>.takeover-<hash>` objects,
 * which a kill could leave behind for good. Nothing creates them now; the
 * runner that takes a lease over clears any that are left.
 */
async function removeTakeoverClaims(store: ObjectStore, key: string): Promise<void> {
  for await (const claim of store.list(`${key}.takeover-`)) await store.delete(claim.key)
}

function heldError(store: ObjectStore, stage: string, key: string, holder: LeaseRecord): LeaseHeldError {
  return new LeaseHeldError(
    `Cannot start ${stage} run: run ${holder.runId} (host ${holder.host}, pid ${holder.pid}) has held the ${stage} lease since ${holder.acquiredAt}. ` +
      `Wait for it to finish; if it died, its lease expires at ${holder.expiresAt}, or remove "${key}" from ${store.root} by hand.`,
    { retryable: true, context: { stage, key } },
  )
}

/** The lease's bytes and version, and its record when they hold one (a torn or foreign file holds none: stale). */
async function readLease(store: ObjectStore, key: string): Promise<(VersionedBytes & { record?: LeaseRecord }) | undefined> {
  const found = await store.getVersioned(key)
  if (found === undefined) return undefined
  try {
    const value = JSON.parse(found.bytes.toString('utf8')) as Partial<LeaseRecord> | null
    const valid =
      typeof value === 'object' && value !== null &&
      typeof value.runId === 'string' && typeof value.host === 'string' &&
      Number.isInteger(value.pid) && !Number.isNaN(Date.parse(String(value.expiresAt)))
    return valid ? { ...found, record: value as LeaseRecord } : found
  } catch {
    return found
  }
}

/**
 * Where this process runs, as lease records name it. On Lambda the machine's
 * host name and pid repeat across sandboxes, so a sandbox is named by its log
 * stream, which is unique to it; a holder there is judged by expiry alone.
 */
function thisHost(): string {
  const stream = process.env.AWS_LAMBDA_LOG_STREAM_NAME
  return stream ? `lambda:${process.env.AWS_LAMBDA_FUNCTION_NAME ?? ''}:${stream}` : hostname()
}

/**
 * Stale when expired (holders renew while they work), or, on this host, when
 * its process is gone. Expiry counts on this host too: a pid reused after a
 * reboot, or every runner being pid 1 in containers that share a host name,
 * must not keep a dead holder's lease alive for good.
 */
function isStale(holder: LeaseRecord, now: Date): boolean {
  if (Date.parse(holder.expiresAt) <= now.getTime()) return true
  if (holder.host !== thisHost() || holder.host.startsWith('lambda:')) return false
  // Containers sharing a host name each have their own pids: only a holder in this namespace and boot is judged by pid.
  if (holder.pidNamespace !== undefined) return ownerState({ ...holder, host: hostname() }) === 'dead'
  return !pidExists(holder.pid)
}

function placeOfThisProcess(): Pick<LeaseRecord, 'pidNamespace' | 'bootId' | 'startTicks'> {
  const { pidNamespace, bootId, startTicks } = currentProcess()
  return { ...(pidNamespace ? { pidNamespace } : {}), ...(bootId ? { bootId } : {}), ...(startTicks ? { startTicks } : {}) }
}
