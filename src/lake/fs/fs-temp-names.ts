/**
 * Names of the hidden temporary files the filesystem lake makes next to a
 * key: a put's bytes before they are linked in, a swap's token and its
 * replacement bytes, a claim moved aside. A kill can leave any of them, so
 * each names the key it serves and the process that made it
 * (`<prefix><kind>-<key's file name>.<owner tag>.<random>`): whoever next
 * works on that key can tell which are dead and remove them, and nothing is
 * left for good.
 */
import { randomBytes } from 'node:crypto'
import { readdir, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ownerTag, tagState } from '../../core/process-identity.js'

export const TEMP_KINDS = ['put', 'token', 'replace', 'aside'] as const
export type TempKind = (typeof TEMP_KINDS)[number]

/** A temporary file that no process can be shown to own is dead once this old (minutes beyond any write or claim wait). */
export const DEAD_TEMP_MS = 60_000

/** A new temporary file's path for `kind` next to `target`, owned by this process. */
export function tempPath(target: string, hiddenPrefix: string, kind: TempKind): string {
  return join(dirname(target), `${hiddenPrefix}${kind}-${basename(target)}.${ownerTag()}.${randomBytes(6).toString('hex')}`)
}

export interface TempName {
  readonly kind: TempKind
  /** The file name of the key it serves. */
  readonly base: string
  readonly tag: string
}

/** Parses a name made by `tempPath`; undefined for anything else. Parsed from the right: a key's name may hold dots. */
export function parseTempName(name: string, hiddenPrefix: string): TempName | undefined {
  if (!name.startsWith(hiddenPrefix)) return undefined
  const rest = name.slice(hiddenPrefix.length)
  const match = /^([a-z]+)-(.+)\.((?:[0-9a-f]{8}|x)-\d+-(?:\d+|x))\.[0-9a-f]{12}$/.exec(rest)
  if (match === null || !(TEMP_KINDS as readonly string[]).includes(match[1]!)) return undefined
  return { kind: match[1] as TempKind, base: match[2]!, tag: match[3]! }
}

/**
 * Removes the temporary files of `kinds` serving `target` whose maker is
 * provably dead, or, when that cannot be told (another host or container),
 * older than `deadAfterMs`. Also removes unnamed ones from earlier versions
 * (`<prefix><12 hex>`) once that old. Never fails: what cannot be removed
 * now is removed next time. Returns the names removed.
 */
export async function removeDeadTemporaries(
  target: string,
  hiddenPrefix: string,
  kinds: readonly TempKind[],
  deadAfterMs: number = DEAD_TEMP_MS,
): Promise<string[]> {
  const dir = dirname(target)
  const base = basename(target)
  const names = await readdir(dir).catch(() => [] as string[])
  const removed: string[] = []
  const legacy = new RegExp(`^${hiddenPrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[0-9a-f]{12}$`)
  for (const name of names) {
    const parsed = parseTempName(name, hiddenPrefix)
    const ours = parsed !== undefined && parsed.base === base && kinds.includes(parsed.kind)
    if (!ours && !legacy.test(name)) continue
    const state = parsed && ours ? tagState(parsed.tag) : 'unknown'
    if (state === 'alive') continue
    if (state === 'unknown') {
      const info = await stat(join(dir, name)).catch(() => undefined)
      if (info === undefined || Date.now() - info.mtimeMs < deadAfterMs) continue
    }
    try {
      await unlink(join(dir, name))
      removed.push(name)
    } catch {
      // Removed by another cleaner meanwhile.
    }
  }
  return removed
}
