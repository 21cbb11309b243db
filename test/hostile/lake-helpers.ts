/**
 * Small tools the lake and manifest cases share: find a pending run's
 * object, tamper with its file, and put the original bytes back (the
 * operator's fix: restore the object from a backup or a bucket version).
 */
import assert from 'node:assert/strict'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { manifestKey } from '../../src/lake/keys.js'
import { listRunIds, readManifest, type ManifestTable } from '../../src/lake/manifest.js'
import type { CaseContext } from './hostile-case.js'

export type Zone = 'ingestion' | 'processed'

/** The pending run's object for `table` (the first one when absent) in `zone`. */
export async function pendingObject(ctx: CaseContext, zone: Zone, table?: string): Promise<ManifestTable> {
  assert.ok(ctx.pendingRunId, 'the case starts with a pending run')
  const { manifest } = await readManifest(ctx.pipeline.ctx[zone], ctx.pendingRunId)
  const found = table ? manifest.tables.find((t) => t.table === table) : manifest.tables[0]
  assert.ok(found, `the pending run holds ${table ?? 'a table'} in ${zone}`)
  return found
}

/** Keeps a file's bytes under `name` so `restore` can put them back. */
export function keep(ctx: CaseContext, name: string, path: string): Buffer {
  const bytes = readFileSync(path)
  ctx.saved.set(name, { path, bytes })
  return bytes
}

/** Puts back every file `keep` kept: the operator restores the objects. */
export async function restore(ctx: CaseContext): Promise<void> {
  for (const value of ctx.saved.values()) {
    const { path, bytes } = value as { path: string; bytes: Buffer }
    writeFileSync(path, bytes)
  }
}

/** Rewrites the pending run's object for `table` in `zone` with `change(original)`, keeping the original. */
export async function tamperObject(ctx: CaseContext, zone: Zone, table: string | undefined, change: (bytes: Buffer) => Buffer | string): Promise<ManifestTable> {
  const object = await pendingObject(ctx, zone, table)
  const path = ctx.file(zone, object.key)
  writeFileSync(path, change(keep(ctx, `${zone}:${object.key}`, path)))
  return object
}

/** Removes the pending run's object for `table`, keeping it for the fix. */
export async function removeObject(ctx: CaseContext, zone: Zone, table?: string): Promise<ManifestTable> {
  const object = await pendingObject(ctx, zone, table)
  const path = ctx.file(zone, object.key)
  keep(ctx, `${zone}:${object.key}`, path)
  rmSync(path)
  return object
}

/** The run ids of a zone, oldest first. */
export function runIds(ctx: CaseContext, zone: Zone): Promise<string[]> {
  return listRunIds(ctx.pipeline.ctx[zone])
}

/** A manifest's file and its parsed JSON, kept for the fix. */
export function manifestJson(ctx: CaseContext, zone: Zone, runId: string): { path: string; json: Record<string, unknown> } {
  const path = ctx.file(zone, manifestKey(runId))
  const bytes = keep(ctx, `${zone}:${manifestKey(runId)}`, path)
  return { path, json: JSON.parse(bytes.toString('utf8')) as Record<string, unknown> }
}

/** Rewrites a manifest as `change` says, keeping the original for the fix. */
export function rewriteManifest(ctx: CaseContext, zone: Zone, runId: string, change: (json: Record<string, unknown>) => unknown): void {
  const { path, json } = manifestJson(ctx, zone, runId)
  const next = change(json)
  writeFileSync(path, typeof next === 'string' ? next : `${JSON.stringify(next, null, 2)}\n`)
}

/** Flips one byte in the middle of `bytes` (same size, other content). */
export function flipByte(bytes: Buffer, at = Math.floor(bytes.length / 2)): Buffer {
  const copy = Buffer.from(bytes)
  copy[at] = copy[at]! ^ 0x01
  return copy
}
