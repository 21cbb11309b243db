/**
 * Compare-and-swap on a local filesystem, for lease objects.
 *
 * A filesystem has no conditional replace, so swappers take turns: each
 * hard-links a token file of its own to a fixed, hidden claim name next to
 * the key (`link` fails if the name exists, so one swapper at a time),
 * checks the key holds the expected version, then renames the new file over
 * the key (atomic, and the key is never absent) or unlinks it, and drops the
 * claim. The claim is held for a few system calls; one older than
 * STALE_CLAIM_MS was left by a killed process and is broken, so a kill never
 * blocks the stage for good. A swapper drops only its own claim (the claim's
 * inode is its token's): one that stalled past STALE_CLAIM_MS and had its
 * claim broken leaves the next owner's claim in place.
 */
import { createHash, randomBytes } from 'node:crypto'
import { link, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { LakeError } from '../errors.js'

/** A claim this old belongs to a process that died holding it (the hold lasts microseconds). */
export const STALE_CLAIM_MS = 10_000
const WAIT_MS = 5
const MAX_WAITS = 2000

/** The version of a lease file: its content's SHA-256, as S3's ETag is a content hash. */
export function versionOf(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/**
 * Runs `change` while holding the claim on `target`, if `target` holds
 * `version`. Returns false (and changes nothing) when it is missing or holds
 * another version.
 */
export async function whileClaimed(
  target: string,
  version: string,
  options: { readonly hiddenPrefix: string; readonly staleClaimMs: number },
  change: () => Promise<void>,
): Promise<boolean> {
  const { hiddenPrefix, staleClaimMs } = options
  const claim = join(dirname(target), `${hiddenPrefix}claim-${basename(target)}`)
  // This swapper's token: the claim is a hard link to it, so the claim's inode says whose it is.
  const token = join(dirname(target), `${hiddenPrefix}${randomBytes(6).toString('hex')}`)
  try {
    await writeFile(token, String(process.pid), { flag: 'wx' })
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false // no folder, so no object to swap
    throw error
  }
  try {
    const mine = await stat(token)
    for (let waits = 0; ; waits++) {
      try {
        await link(token, claim)
        break
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
        if (waits >= MAX_WAITS) {
          throw new LakeError(`Cannot update ${target}: another process keeps holding ${claim}. Try again; if no runner is alive, remove ${claim}.`, {
            retryable: true,
          })
        }
        await breakIfStale(claim, hiddenPrefix, staleClaimMs)
        await new Promise((resolve) => setTimeout(resolve, WAIT_MS))
      }
    }
    try {
      // Nothing else changes the key while the claim is held.
      const bytes = await readFile(target).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined
        throw error
      })
      if (bytes === undefined || versionOf(bytes) !== version) return false
      await change()
      return true
    } finally {
      await dropClaim(claim, mine, hiddenPrefix)
    }
  } finally {
    await unlink(token).catch(() => {})
  }
}

/**
 * Drops the claim if it is still this swapper's. It is moved aside first
 * (atomic), then judged by its inode: a claim that a stall let another
 * process break and take again is put back, not deleted.
 */
async function dropClaim(claim: string, mine: { readonly ino: number; readonly dev: number }, hiddenPrefix: string): Promise<void> {
  const aside = join(dirname(claim), `${hiddenPrefix}${randomBytes(6).toString('hex')}`)
  try {
    await rename(claim, aside)
  } catch {
    return // broken and not taken again: nothing to drop
  }
  const moved = await stat(aside).catch(() => undefined)
  if (moved !== undefined && (moved.ino !== mine.ino || moved.dev !== mine.dev)) await link(aside, claim).catch(() => {})
  await unlink(aside).catch(() => {})
}

/** Replaces the claim of a dead process: moves it aside, and puts it back if it turns out to be live. */
async function breakIfStale(claim: string, hiddenPrefix: string, staleClaimMs: number): Promise<void> {
  const info = await stat(claim).catch(() => undefined)
  // ctime moves when the claim link is made: it dates the claim.
  if (info === undefined || Date.now() - info.ctimeMs < staleClaimMs) return
  const aside = join(dirname(claim), `${hiddenPrefix}${randomBytes(6).toString('hex')}`)
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
