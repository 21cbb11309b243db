/**
 * A stage's lease: an object created exclusively at `_leases/<stage>.json`
 * before the stage writes anything, and removed when it finishes. It keeps
 * two runners from working the same zone at once, and it tells the next
 * runner which run a crashed one left half-written.
 *
 * A lease is stale when its holder is gone: on the same host, its process no
 * longer exists; elsewhere (Lambda), it is older than its time to live.
 */
import { hostname } from 'node:os'
import { LeaseHeldError } from './errors.js'
import { ObjectExistsError } from './errors.js'
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
  let replaced: LeaseRecord | undefined
  // Two attempts: the second follows the removal of a stale lease.
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await store.put(key, JSON.stringify(record))
      return {
        record,
        ...(replaced ? { replaced } : {}),
        release: () => store.delete(key),
      }
    } catch (error) {
      if (!(error instanceof ObjectExistsError)) throw error
    }
    const holder = await readLease(store, key)
    if (holder && !isStale(holder, now)) {
      throw new LeaseHeldError(
        `Cannot start ${stage} run: run ${holder.runId} (host ${holder.host}, pid ${holder.pid}) has held the ${stage} lease since ${holder.acquiredAt}. ` +
          `Wait for it to finish; if it died, its lease expires at ${holder.expiresAt}, or remove "${key}" from ${store.root} by hand.`,
        { retryable: true, context: { stage, key } },
      )
    }
    replaced = holder ?? replaced
    await store.delete(key)
  }
  throw new LeaseHeldError(`Cannot take the ${stage} lease at "${key}" in ${store.root}: another runner took it first.`, {
    retryable: true,
  })
}

async function readLease(store: ObjectStore, key: string): Promise<LeaseRecord | undefined> {
  try {
    return JSON.parse((await store.getBytes(key)).toString('utf8')) as LeaseRecord
  } catch {
    // Gone in between, or a torn write from a crash: either way nobody holds it.
    return undefined
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
