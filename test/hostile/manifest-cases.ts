/**
 * Manifests: the pending run's manifest damaged or edited, an earlier one
 * rewritten, removed, copied or moved between zones. Each is refused
 * naming the manifest; restoring it lets the rerun converge. A pending
 * manifest lost before anything consumed it is simply extracted again.
 */
import { copyFileSync, rmSync, writeFileSync } from 'node:fs'
import { manifestKey } from '../../src/lake/keys.js'
import type { CaseContext, HostileCase, StartState } from './hostile-case.js'
import { keep, manifestJson, restore, rewriteManifest, runIds, type Zone } from './lake-helpers.js'

type Json = Record<string, unknown>
type Table = { table: string; key: string; rows: number; bytes: number; sha256: string }

const RESTORE = /Restore it from a backup/

/** The pending run's manifest (or the newest of the zone) edited as `change` says. */
function pending(name: string, zone: Zone, does: string, change: (json: Json) => unknown, message: RegExp): HostileCase {
  return {
    id: `manifest-${zone}-${name}`,
    category: 'manifests',
    does: `${does} in the pending ${zone} manifest`,
    start: zone === 'ingestion' ? 'extracted' : 'transformed',
    expect: 'refused',
    act: async (ctx) => rewriteManifest(ctx, zone, ctx.pendingRunId!, change),
    refusal: { message },
    fix: restore,
  }
}

/** An earlier (already consumed) manifest of a zone edited after a later run was published. */
function earlier(name: string, zone: Zone, does: string, start: StartState, change: (json: Json) => unknown, message: RegExp): HostileCase {
  return {
    id: `manifest-${zone}-earlier-${name}`,
    category: 'manifests',
    does: `${does} the first ${zone} manifest after later runs`,
    start,
    expect: 'refused',
    act: async (ctx) => rewriteManifest(ctx, zone, (await runIds(ctx, zone))[0]!, change),
    refusal: { message },
    fix: restore,
  }
}

const tables = (json: Json) => json.tables as Table[]
const withTables = (json: Json, change: (t: Table[]) => Table[]) => ({ ...json, tables: change(tables(json).map((t) => ({ ...t }))) })
const firstTable = (json: Json, change: (t: Table) => Table) => withTables(json, ([head, ...rest]) => [change(head!), ...rest])

/** A copy of the pending manifest under a later run id: a manifest that names another run. */
async function copyUnderLaterRun(ctx: CaseContext, zone: Zone): Promise<void> {
  const later = ctx.pendingRunId!.replace(/^(\d{4})/, (y) => String(Number(y) + 1))
  const target = ctx.file(zone, manifestKey(later))
  copyFileSync(ctx.file(zone, manifestKey(ctx.pendingRunId!)), target)
  ctx.saved.set('copy', target)
}

export const MANIFEST_CASES: readonly HostileCase[] = [
  pending('invalid-json', 'ingestion', 'writes half a JSON object', () => '{"formatVersion": 1, "runId":', /Manifest "_manifests\/\d+T\d+Z\.json" in file:\S+ is not valid JSON\. .*restore it from a backup/),
  pending('empty', 'ingestion', 'writes an empty file', () => '', /is not valid JSON/),
  pending('array', 'ingestion', 'writes a JSON array', () => '[]', /Manifest "_manifests\/\d+T\d+Z\.json" is not a JSON object: it was changed by hand or damaged\. Restore it from a backup/),
  pending('future-format', 'ingestion', 'sets formatVersion 99', (j) => ({ ...j, formatVersion: 99 }), /has formatVersion 99, but this starline reads version 1\. Upgrade starline/),
  pending('no-tables', 'ingestion', 'removes the table list', (j) => ({ ...j, tables: undefined }), /lacks runId or tables: it was changed by hand or damaged/),
  pending('no-format', 'ingestion', 'removes formatVersion', (j) => ({ ...j, formatVersion: undefined }), /has no valid formatVersion: it was changed by hand or damaged\. Restore it/),
  pending('other-run-id', 'ingestion', 'names another run', (j) => ({ ...j, runId: '20200101T000000000Z' }), /says it is run 20200101T000000000Z\. It was copied or edited by hand/),
  pending('other-stage', 'ingestion', 'calls the run a transform', (j) => ({ ...j, stage: 'transform' }), /is a transform manifest in a zone of extract runs \(are the two lake URLs swapped\?\)/),
  pending('object-sha', 'ingestion', "changes an object's SHA-256", (j) => firstTable(j, (t) => ({ ...t, sha256: '0'.repeat(64) })), /SHA-256 differs from its manifest/),
  pending('object-bytes', 'ingestion', "changes an object's size", (j) => firstTable(j, (t) => ({ ...t, bytes: t.bytes + 1 })), /bytes where its manifest says/),
  pending('object-key', 'ingestion', "points a table at another table's object", (j) => withTables(j, (t) => [{ ...t[0]!, key: t[1]!.key }, ...t.slice(1)]), /Manifest "_manifests\/\d+T\d+Z\.json" in file:\S+ lists "[^"]+", which is not run \d+T\d+Z's object for "\w+"\. It was copied or edited by hand/),
  pending('invalid-json', 'processed', 'writes half a JSON object', () => '{"formatVersion": 1,', /is not valid JSON/),
  pending('future-format', 'processed', 'sets formatVersion 2', (j) => ({ ...j, formatVersion: 2 }), /has formatVersion 2, but this starline reads version 1/),
  pending('other-run-id', 'processed', 'names another run', (j) => ({ ...j, runId: '20200101T000000000Z' }), /says it is run 20200101T000000000Z/),
  pending('other-stage', 'processed', 'calls the run an extract', (j) => ({ ...j, stage: 'extract' }), /is a extract manifest in a zone of transform runs/),
  pending('object-sha', 'processed', "changes a Parquet object's SHA-256", (j) => firstTable(j, (t) => ({ ...t, sha256: 'f'.repeat(64) })), /SHA-256 differs from its manifest/),
  pending('object-bytes', 'processed', "changes a Parquet object's size", (j) => firstTable(j, (t) => ({ ...t, bytes: t.bytes - 1 })), /bytes where its manifest says/),
  earlier('fewer-tables', 'ingestion', 'drops a table from', 'extracted', (j) => withTables(j, (t) => t.slice(1)), /Ingestion manifest "_manifests\/\d+T\d+Z\.json" in file:\S+ is not the one processed run \d+T\d+Z was built from .*changed after it was transformed/),
  earlier('whitespace', 'ingestion', 'adds a blank line to', 'extracted', (j) => `${JSON.stringify(j, null, 2)}\n\n`, /is not the one processed run \d+T\d+Z was built from \(its SHA-256 differs/),
  earlier('row-count', 'processed', 'raises a row count in', 'transformed', (j) => firstTable(j, (t) => ({ ...t, rows: t.rows + 1 })), /holds a different manifest for it than the one loaded/),
  earlier('whitespace', 'processed', 'adds a blank line to', 'transformed', (j) => `${JSON.stringify(j, null, 2)}\n\n`, /holds a different manifest for it than the one loaded/),
  {
    id: 'manifest-ingestion-earlier-removed',
    category: 'manifests',
    does: 'removes the first ingestion manifest after it was transformed',
    start: 'extracted',
    expect: 'refused',
    act: async (ctx) => {
      const { path } = manifestJson(ctx, 'ingestion', (await runIds(ctx, 'ingestion'))[0]!)
      rmSync(path)
    },
    refusal: { message: /Processed run \d+T\d+Z in file:\S+ has no ingestion manifest in file:\S+: .*Restore the manifest or point both settings at the same lake/ },
    fix: restore,
  },
  {
    id: 'manifest-ingestion-watermark-moved-back',
    category: 'manifests',
    does: 'moves the newest ingestion manifest\'s watermark back to the previous run\'s',
    start: 'extracted',
    expect: 'refused',
    act: async (ctx) => {
      await ctx.pipeline.cycle()
      const [first, newest] = await runIds(ctx, 'ingestion')
      const { json: before } = manifestJson(ctx, 'ingestion', first!)
      ctx.saved.clear()
      rewriteManifest(ctx, 'ingestion', newest!, (j) => ({ ...j, watermark: { ...(j.watermark as Json), to: (before.watermark as Json).to } }))
    },
    refusal: { message: /Ingestion manifest "_manifests\/\d+T\d+Z\.json" in file:\S+ is not the one processed run \d+T\d+Z was built from/ },
    fix: restore,
  },
  {
    id: 'manifest-ingestion-copied-as-later-run',
    category: 'manifests',
    does: 'copies the pending ingestion manifest under a later run id',
    start: 'extracted',
    expect: 'refused',
    act: (ctx) => copyUnderLaterRun(ctx, 'ingestion'),
    refusal: { message: RESTORE },
    fix: async (ctx) => rmSync(ctx.saved.get('copy') as string),
  },
  {
    id: 'manifest-ingestion-pending-removed',
    category: 'manifests',
    does: 'removes the pending ingestion manifest before transform (its objects stay, unlisted)',
    start: 'extracted',
    expect: 'exact',
    act: async (ctx) => {
      const { path } = manifestJson(ctx, 'ingestion', ctx.pendingRunId!)
      rmSync(path)
    },
  },
  {
    id: 'manifest-processed-swapped-zones',
    category: 'manifests',
    does: 'puts a processed manifest over the pending ingestion manifest',
    start: 'extracted',
    expect: 'refused',
    act: async (ctx) => {
      const [first] = await runIds(ctx, 'processed')
      const path = ctx.file('ingestion', manifestKey(ctx.pendingRunId!))
      keep(ctx, 'pending', path)
      const processed = manifestJson(ctx, 'processed', first!).json
      ctx.saved.delete(`processed:${manifestKey(first!)}`)
      writeFileSync(path, JSON.stringify({ ...processed, runId: ctx.pendingRunId }))
    },
    refusal: { message: /transform manifest in a zone of extract runs/ },
    fix: restore,
  },
]
