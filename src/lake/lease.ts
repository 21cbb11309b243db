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
import { hostname } from 'node:os'
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
  /** When the holder last extended the lease (absent until its first renewal). */
  readonly renewedAt?: string
}

export interface Lease {
  /** The record as acquired. */
  readonly record: LeaseRecord
  /** The record of the stale lease this one replaced, for the caller to clean up after. */
  readonly replaced?: LeaseRecord
  /** Whether the lease is still this runner's (not taken over after an overrun). */
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
}

export async function acquireLease(store: ObjectStore, stage: string, runId: string, options: AcquireOptions): Promise<Lease> {
  const key = leaseKey(stage)
  const now = options.now ?? new Date()
  const record: LeaseRecord = {
    stage,
    runId,
    host: options.holder?.host ?? thisHost(),
    pid: options.holder?.pid ?? process.pid,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
  }
  const body = JSON.stringify(record)
  // A few rounds: each either takes a free lease, or swaps out one stale holder.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryPut(store, key, body)) return heldLease(store, key, record, body, undefined, options.ttlMs, undefined)
    const held = await readLease(store, key)
    if (held === undefined) continue // released in between: try again
    if (held.record && !isStale(held.record, now)) throw heldError(store, stage, key, held.record)
    // Stale: replace exactly the bytes judged stale. A racer that swapped first changed the version, so this fails.
    const version = await store.replaceIf(key, body, held.version)
    if (version !== undefined) {
      await removeTakeoverClaims(store, key)
      return heldLease(store, key, record, body, version, options.ttlMs, held.record)
    }
  }
  throw new LeaseHeldError(`Cannot take the ${stage} lease at "${key}" in ${store.root}: other runners keep taking it. Try again.`, {
    retryable: true,
    context: { stage, key },
  })
}

function heldLease(
  store: ObjectStore,
  key: string,
  record: LeaseRecord,
  body: string,
  version: string | undefined,
  ttlMs: number,
  replaced: LeaseRecord | undefined,
): Lease {
  // What this runner last wrote, and its version once known (a plain put returns none).
  let current = { body, version }
  let lost = false
  const renewal = new LeaseRenewal(ttlMs)
  // One lease operation at a time: a check must not read a renewal's new bytes before `current` knows them.
  let queue: Promise<unknown> = Promise.resolve()
  const serial = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = queue.then(operation)
    queue = run.catch(() => {})
    return run
  }
  const isHeld = async (): Promise<boolean> => {
    if (lost) return false
    const found = await store.getVersioned(key)
    if (found === undefined || found.bytes.toString('utf8') !== current.body) lost = true
    return !lost
  }
  const renew = async (now = new Date()): Promise<boolean> => {
    if (lost) return false
    const next = JSON.stringify({ ...record, expiresAt: new Date(now.getTime() + ttlMs).toISOString(), renewedAt: now.toISOString() })
    // Two rounds: a swap can fail without a takeover (the version was unknown, or a racer's failed swap moved it briefly).
    for (let round = 0; round < 2; round++) {
      if (current.version !== undefined) {
        const version = await store.replaceIf(key, next, current.version)
        if (version !== undefined) {
          current = { body: next, version }
          return true
        }
      }
      const found = await store.getVersioned(key)
      if (found === undefined || found.bytes.toString('utf8') !== current.body) {
        lost = true
        return false
      }
      current = { body: current.body, version: found.version }
    }
    return !lost
  }
  return {
    record,
    ...(replaced ? { replaced } : {}),
    isHeld: () => serial(isHeld),
    renew: (now) => serial(() => renew(now)),
    startRenewal: (options) => renewal.start(() => serial(() => renew()), options),
    stopRenewal: () => renewal.stop(),
    release: async () => {
      await renewal.stop()
      await serial(async () => {
        // Only while still this runner's: after an overrun another runner may hold it, and keeps it.
        const found = await store.getVersioned(key)
        if (found?.bytes.toString('utf8') === current.body) await store.deleteIf(key, found.version)
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
  return holder.host === thisHost() && !holder.host.startsWith('lambda:') && !processExists(holder.pid)
}

function processExists(pid: number): boolean {
  if (pid === process.pid) return true
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
