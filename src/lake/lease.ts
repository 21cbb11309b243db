/**
 * A stage's lease: an object created exclusively at `_leases/<stage>.json`
 * before the stage writes anything, and removed when it finishes. It keeps
 * two runners from working the same zone at once, and it tells the next
 * runner which run a crashed one left half-written.
 *
 * A lease is stale when its holder is gone: on the same host, its process no
 * longer exists; elsewhere (Lambda), it is older than its time to live.
 */
import { createHash } from 'node:crypto'
import { hostname } from 'node:os'
import { LeaseHeldError, ObjectExistsError } from './errors.js'
import { leaseKey } from './keys.js'
import type { ObjectStore } from './object-store.js'

export interface LeaseRecord {
  readonly stage: string
  readonly runId: string
  readonly host: string
  readonly pid: number
  readonly acquiredAt: string
  readonly expiresAt: string
}

export interface Lease {
  readonly record: LeaseRecord
  /** The record of the stale lease this one replaced, for the caller to clean up after. */
  readonly replaced?: LeaseRecord
  /** Whether the lease is still this runner's (not taken over after an overrun). */
  isHeld(): Promise<boolean>
  release(): Promise<void>
}

export interface AcquireOptions {
  readonly ttlMs: number
  readonly now?: Date
}

export async function acquireLease(store: ObjectStore, stage: string, runId: string, options: AcquireOptions): Promise<Lease> {
  const key = leaseKey(stage)
  const now = options.now ?? new Date()
  const record: LeaseRecord = {
    stage,
    runId,
    host: hostname(),
    pid: process.pid,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + options.ttlMs).toISOString(),
  }
  const body = JSON.stringify(record)
  let replaced: LeaseRecord | undefined
  // A few rounds: each either takes a free lease, or clears one stale holder.
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await tryPut(store, key, body)) return lease(store, key, body, record, replaced)
    const held = await readLease(store, key)
    if (held === undefined) continue // released in between: try again
    if (held.record && !isStale(held.record, now)) throw heldError(store, stage, key, held.record)
    // Stale. Claim the right to replace exactly this holder, so that two
    // runners replacing it cannot both win: the claim's key names its bytes.
    const claim = `${key}.takeover-${createHash('sha256').update(held.bytes).digest('hex').slice(0, 16)}`
    if (!(await tryPut(store, claim, body))) throw heldError(store, stage, key, held.record)
    try {
      const current = await readLease(store, key)
      if (current !== undefined && !current.bytes.equals(held.bytes)) continue // someone else replaced it first
      await store.delete(key)
      replaced = held.record ?? replaced
      if (await tryPut(store, key, body)) return lease(store, key, body, record, replaced)
    } finally {
      await store.delete(claim)
    }
  }
  throw new LeaseHeldError(`Cannot take the ${stage} lease at "${key}" in ${store.root}: other runners keep taking it. Try again.`, {
    retryable: true,
  })
}

function lease(store: ObjectStore, key: string, body: string, record: LeaseRecord, replaced: LeaseRecord | undefined): Lease {
  return {
    record,
    ...(replaced ? { replaced } : {}),
    isHeld: async () => (await readLease(store, key))?.bytes.toString('utf8') === body,
    release: () => releaseIfMine(store, key, body),
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

/** Removes the lease only while it is still this runner's: after an overrun, another may hold it. */
async function releaseIfMine(store: ObjectStore, key: string, body: string): Promise<void> {
  // NOTE: read-then-delete is not atomic; the window is one round trip.
  const current = await readLease(store, key)
  if (current?.bytes.toString('utf8') === body) await store.delete(key)
}

function heldError(store: ObjectStore, stage: string, key: string, holder: LeaseRecord | undefined): LeaseHeldError {
  const who = holder ? `run ${holder.runId} (host ${holder.host}, pid ${holder.pid}) has held the ${stage} lease since ${holder.acquiredAt}` : `another runner is taking over the ${stage} lease`
  const expiry = holder ? `if it died, its lease expires at ${holder.expiresAt}, or ` : 'if none is running, '
  return new LeaseHeldError(
    `Cannot start ${stage} run: ${who}. Wait for it to finish; ${expiry}remove "${key}" from ${store.root} by hand.`,
    { retryable: true, context: { stage, key } },
  )
}

/** The lease's bytes, and its record when they hold one (a torn or foreign file holds none: stale). */
async function readLease(store: ObjectStore, key: string): Promise<{ bytes: Buffer; record?: LeaseRecord } | undefined> {
  let bytes: Buffer
  try {
    bytes = await store.getBytes(key)
  } catch {
    return undefined
  }
  try {
    const value = JSON.parse(bytes.toString('utf8')) as Partial<LeaseRecord> | null
    const valid =
      typeof value === 'object' && value !== null &&
      typeof value.runId === 'string' && typeof value.host === 'string' &&
      Number.isInteger(value.pid) && !Number.isNaN(Date.parse(String(value.expiresAt)))
    return valid ? { bytes, record: value as LeaseRecord } : { bytes }
  } catch {
    return { bytes }
  }
}

function isStale(holder: LeaseRecord, now: Date): boolean {
  if (holder.host === hostname()) return !processExists(holder.pid)
  return Date.parse(holder.expiresAt) <= now.getTime()
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
