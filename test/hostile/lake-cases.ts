/**
 * Lake tampering: objects of a run not yet consumed are truncated, edited,
 * replaced, removed or re-encoded. The stage that reads them refuses, naming
 * the object; restoring the object (from a backup or a bucket version) lets
 * the rerun converge. Stray objects no manifest lists are ignored.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { HostileCase, StartState } from './hostile-case.js'
import { flipByte, pendingObject, removeObject, restore, tamperObject, type Zone } from './lake-helpers.js'

const SIZE = /Object "[^"]+" in file:\S+ holds \d+ bytes where its manifest says \d+: it was changed after it was published\. Restore it from a backup/
const HASH = /Object "[^"]+" in file:\S+ holds bytes whose SHA-256 differs from its manifest: .*Restore it from a backup/
const MISSING = /Object "[^"]+" is missing from file:\S+\. Check the lake URL, or whether the object was removed by hand/

interface Tamper {
  readonly name: string
  readonly does: string
  readonly change: (bytes: Buffer) => Buffer | string
  readonly message: RegExp
}

const TAMPERS: readonly Tamper[] = [
  { name: 'truncated', does: 'cuts the last 10 bytes off', change: (b) => b.subarray(0, b.length - 10), message: SIZE },
  { name: 'byte-flipped', does: 'flips one bit in the middle', change: (b) => flipByte(b), message: HASH },
  { name: 'emptied', does: 'empties', change: () => Buffer.alloc(0), message: SIZE },
  { name: 'appended', does: 'appends bytes to', change: (b) => Buffer.concat([b, b.subarray(0, 64)]), message: SIZE },
  { name: 'last-byte-changed', does: 'changes the very last byte of', change: (b) => flipByte(b, b.length - 1), message: HASH },
  { name: 'first-byte-changed', does: 'changes the very first byte of', change: (b) => flipByte(b, 0), message: HASH },
]

/** Per zone: the stage that refuses and a table of the pending run to tamper with for each tamper. */
const ZONES: Record<Zone, { readonly start: StartState; readonly tables: readonly string[] }> = {
  ingestion: { start: 'extracted', tables: ['sales_order', 'payment', 'design', 'address', 'sales_order', 'payment'] },
  processed: { start: 'transformed', tables: ['fact_sales_order', 'fact_payment', 'dim_design', 'dim_location', 'fact_payment', 'fact_sales_order'] },
}

const tampered: HostileCase[] = (['ingestion', 'processed'] as const).flatMap((zone) =>
  TAMPERS.map((tamper, i): HostileCase => {
    const table = ZONES[zone].tables[i]!
    return {
      id: `lake-${zone}-${tamper.name}`,
      category: 'lake tampering',
      does: `${tamper.does} the pending ${table} ${zone === 'ingestion' ? 'CSV' : 'Parquet'} object`,
      start: ZONES[zone].start,
      expect: 'refused',
      act: async (ctx) => void (await tamperObject(ctx, zone, table, tamper.change)),
      refusal: { message: tamper.message },
      fix: restore,
    }
  }),
)

/** A pending object swapped for another object of the same run. */
function swapped(zone: Zone, table: string, other: string): HostileCase {
  return {
    id: `lake-${zone}-swapped-${table.replaceAll('_', '-')}`,
    category: 'lake tampering',
    does: `replaces the pending ${table} object with the run's ${other} object`,
    start: ZONES[zone].start,
    expect: 'refused',
    act: async (ctx) => {
      const donor = readFileSync(ctx.file(zone, (await pendingObject(ctx, zone, other)).key))
      await tamperObject(ctx, zone, table, () => donor)
    },
    refusal: { message: /Object "[^"]+" in file:\S+ holds (\d+ bytes where|bytes whose SHA-256 differs)/ },
    fix: restore,
  }
}

/** A pending object removed. */
function removed(zone: Zone, table: string): HostileCase {
  return {
    id: `lake-${zone}-removed-${table.replaceAll('_', '-')}`,
    category: 'lake tampering',
    does: `removes the pending ${table} object`,
    start: ZONES[zone].start,
    expect: 'refused',
    act: async (ctx) => void (await removeObject(ctx, zone, table)),
    refusal: { message: MISSING },
    fix: restore,
  }
}

/** An object that no manifest lists, put where a run's objects go. */
function stray(zone: Zone, key: string, body: string, start: StartState): HostileCase {
  return {
    id: `lake-${zone}-stray-${key.replace(/[^a-z]+/g, '-').replace(/-+$/, '')}`,
    category: 'lake tampering',
    does: `puts an object no manifest lists at ${zone}/${key}`,
    start,
    expect: 'exact',
    act: async (ctx) => {
      const path = ctx.file(zone, key)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, body)
    },
  }
}

/** The pending CSV re-encoded as an editor might save it. */
function reencoded(name: string, does: string, change: (text: string) => string, message: RegExp): HostileCase {
  return {
    id: `lake-ingestion-${name}`,
    category: 'lake tampering',
    does: `${does} the pending sales_order CSV`,
    start: 'extracted',
    expect: 'refused',
    act: async (ctx) => void (await tamperObject(ctx, 'ingestion', 'sales_order', (b) => change(b.toString('utf8')))),
    refusal: { message },
    fix: restore,
  }
}

export const LAKE_CASES: readonly HostileCase[] = [
  ...tampered,
  swapped('ingestion', 'sales_order', 'payment'),
  swapped('processed', 'fact_sales_order', 'fact_payment'),
  swapped('processed', 'dim_design', 'dim_location'),
  removed('ingestion', 'payment'),
  removed('processed', 'fact_payment'),
  removed('processed', 'dim_design'),
  reencoded('crlf', 'saves with CRLF line ends', (t) => t.replaceAll('\n', '\r\n'), SIZE),
  reencoded('bom', 'prepends a UTF-8 byte order mark to', (t) => `\ufeff${t}`, SIZE),
  reencoded('row-removed', 'removes the last row of', (t) => t.replace(/[^\n]*\n$/, ''), SIZE),
  reencoded('value-edited', 'edits one quantity (same length) in', (t) => t.replace(/,(\d)(\d*),/, (_m, d: string, r: string) => `,${d === '9' ? '8' : '9'}${r},`), HASH),
  stray('ingestion', 'sales_order/2024/11/19/20241119T000000000Z.csv', 'sales_order_id\n1\n', 'cycled'),
  stray('processed', 'fact_sales_order/2024/11/19/20241119T000000000Z.parquet', 'not parquet', 'cycled'),
  stray('ingestion', 'notes/README.txt', 'an operator left a note here', 'extracted'),
  stray('processed', 'exports/copy.csv', 'a,b\n1,2\n', 'transformed'),
]
