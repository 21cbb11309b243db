/**
 * Compare-and-swap on a local filesystem, for lease objects.
 *
 * A filesystem has no conditional replace, so swappers take turns: each
 * hard-links a token file of its own to a fixed, hidden claim name next to
 * the key (`link` fails if the name exists, so one swapper at a time),
 * checks the key holds the expected version, then renames the new file over
 * the key (atomic, and the key is never absent) or unlinks it, and drops the
 * claim. A swapper drops only its own claim (the claim's inode is its
 * token's): one that stalled past STALE_CLAIM_MS and had its claim broken
 * leaves the next owner's claim in place.
 *
 * A kill leaves files behind; none blocks for good or stays for good:
 * - the claim: its content names its owner (see core/process-identity.ts),
 *   so a claim whose owner is provably dead is broken at once, and any claim
 *   older than STALE_CLAIM_MS (the hold lasts microseconds) is broken too;
 * - tokens, replacement bytes, claims moved aside: named after the key and
 *   their owner (fs-temp-names.ts), the next claim holder removes the dead
 *   ones. A waiter whose token was removed all the same writes it again.
 */
import { createHash } from 'node:crypto'
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { currentProcess, ownerState, type ProcessIdentity } from '../../core/process-identity.js'
import { LakeError } from '../errors.js'
import { removeDeadTemporaries, tempPath } from './fs-temp-names.js'

/** A claim this old belongs to a process that died holding it (the hold lasts microseconds). */
export const STALE_CLAIM_MS = 10_000
const WAIT_MS = 5
const MAX_WAITS = 2000

export interface SwapOptions {
  readonly hiddenPrefix: string
  readonly staleClaimMs: number
  /** When a temporary file whose owner cannot be checked counts as dead (default DEAD_TEMP_MS). */
  readonly deadTempMs?: number
}

/** The version of a lease file: its content's SHA-256, as S3's ETag is a content hash. */
export function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** The path of the claim on `target`. */
export function claimPath(target: string, hiddenPrefix: string): string {
  return join(dirname(target), `${hiddenPrefix}claim-${basename(target)}`)
}

/**
 * Runs `change` while holding the claim on `target`, if `target` holds
 * `version`. Returns false (and changes nothing) when it is missing or holds
 * another version.
 */
export async function whileClaimed(target: string, version: string, options: SwapOptions, change: () => Promise<void>): Promise<boolean> {
  const { hiddenPrefix, staleClaimMs } = options
  const claim = claimPath(target, hiddenPrefix)
  // This swapper's token: the claim is a hard link to it, so the claim's inode says whose it is, its bytes who made it.
  const token = tempPath(target, hiddenPrefix, 'token')
  let mine = await writeToken(token)
  if (mine === undefined) return false // no folder, so no object to swap
  try {
    for (let waits = 0; ; waits++) {
      try {
        await link(token, claim)
        break
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code
        if (code === 'ENOENT') {
          // The token was removed while this swapper waited (judged dead by a claim holder, or by hand): write it again.
          mine = await writeToken(token)
          if (mine === undefined) return false
          continue
        }
        if (code !== 'EEXIST') throw error
        if (waits >= MAX_WAITS) {
          throw new LakeError(`Cannot update ${target}: another process keeps holding ${claim}. Try again; if no runner is alive, remove ${claim}.`, {
            retryable: true,
          })
        }
        await breakIfStale(claim, target, hiddenPrefix, staleClaimMs)
        await new Promise((resolve) => setTimeout(resolve, WAIT_MS))
      }
    }
    try {
      // The claim holder clears what killed swappers of this key left (never its own: this process is alive).
      await removeDeadTemporaries(target, hiddenPrefix, ['token', 'replace', 'aside', 'put'], options.deadTempMs)
      // Nothing else changes the key while the claim is held.
      const bytes = await readFile(target).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined
        throw error
      })
      if (bytes === undefined || versionOf(bytes) !== version) return false
      await change()
      return true
    } finally {
      await dropClaim(claim, target, mine, hiddenPrefix)
    }
  } finally {
    await unlink(token).catch(() => {})
  }
}

/** Writes the token (its owner's identity) and returns its inode; undefined when the folder is gone. */
async function writeToken(token: string): Promise<{ readonly ino: number; readonly dev: number } | undefined> {
  try {
    await writeFile(token, JSON.stringify(currentProcess()), { flag: 'w' })
    return await stat(token)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/**
 * Drops the claim if it is still this swapper's. It is moved aside first
 * (atomic), then judged by its inode: a claim that a stall let another
 * process break and take again is put back, not deleted.
 */
async function dropClaim(claim: string, target: string, mine: { readonly ino: number; readonly dev: number }, hiddenPrefix: string): Promise<void> {
  const aside = tempPath(target, hiddenPrefix, 'aside')
  try {
    await rename(claim, aside)
  } catch {
    return // broken and not taken again: nothing to drop
  }
  const moved = await stat(aside).catch(() => undefined)
  if (moved !== undefined && (moved.ino !== mine.ino || moved.dev !== mine.dev)) await link(aside, claim).catch(() => {})
  await unlink(aside).catch(() => {})
}

/** Whether the claim's owner, as its bytes name it, is provably dead (a token of an earlier version names none). */
async function ownerIsDead(claim: string): Promise<boolean> {
  try {
    const owner = JSON.parse(await readFile(claim, 'utf8')) as Partial<ProcessIdentity> | null
    if (owner === null || typeof owner !== 'object' || typeof owner.host !== 'string' || !Number.isInteger(owner.pid)) return false
    return ownerState(owner as ProcessIdentity) === 'dead'
  } catch {
    return false
  }
}

/** Replaces the claim of a dead process: moves it aside, and puts it back if it turns out to be live. */
async function breakIfStale(claim: string, target: string, hiddenPrefix: string, staleClaimMs: number): Promise<void> {
  const info = await stat(claim).catch(() => undefined)
  if (info === undefined) return
  // ctime moves when the claim link is made: it dates the claim.
  if (Date.now() - info.ctimeMs < staleClaimMs && !(await ownerIsDead(claim))) return
  const aside = tempPath(target, hiddenPrefix, 'aside')
  try {
    await rename(claim, aside)
  } catch {
    return // another process broke it first
  }
  // rename itself moves ctime, so the claim moved is recognised by its inode.
  const moved = await stat(aside).catch(() => undefined)
  if (moved !== undefined && (moved.ino !== info.ino || moved.dev !== info.dev)) {
    // A live claim made since the check: give it back.
    await link(aside, claim).catch(() => {})
  }
  await unlink(aside).catch(() => {})
}
