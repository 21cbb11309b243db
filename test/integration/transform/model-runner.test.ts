/**
 * One record must never stop a transform: records DuckDB's CSV reader
 * cannot read (bad UTF-8, a broken quote, a wrong number of values) and
 * values no warehouse takes (NUL) fail their row with a reason that names
 * only where the row is, and a record longer than DuckDB's default limit
 * is read whole. Real DuckDB, real files.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { longestRecordBytes } from '../../../src/transform/csv-reading.js'
import { runModels, type SourceFile } from '../../../src/transform/model-runner.js'
import { openDuckDb } from '../../../src/engines/duckdb/duckdb-engine.js'

const dir = mkdtempSync(join(tmpdir(), 'starline-model-runner-'))
after(() => rmSync(dir, { recursive: true, force: true }))

const TS = 'timestamp(3) without time zone'
const DESIGN_COLUMNS = [
  { name: 'design_id', type: 'integer', nullable: false },
  { name: 'design_name', type: 'text', nullable: false },
  { name: 'file_location', type: 'text', nullable: false },
  { name: 'file_name', type: 'text', nullable: false },
  { name: 'created_at', type: TS, nullable: false },
  { name: 'last_updated', type: TS, nullable: false },
]
const STAMP = '2024-11-19 09:00:00.123'

function designRow(id: number, name: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${id},`), Buffer.isBuffer(name) ? name : Buffer.from(name), Buffer.from(`,/d,d${id}.jpg,${STAMP},${STAMP}\n`)])
}

async function runDesign(name: string, body: Buffer, extraColumns: typeof DESIGN_COLUMNS = []) {
  const columns = [...DESIGN_COLUMNS, ...extraColumns]
  const path = join(dir, `${name}.csv`)
  writeFileSync(path, Buffer.concat([Buffer.from(`${columns.map((c) => c.name).join(',')}\n`), body]))
  const file: SourceFile = { key: `ingestion/design/${name}.csv`, path, runId: '20241119T090000000Z', columns }
  const outputDir = mkdtempSync(join(dir, `${name}-out-`))
  const output = await runModels(TOTESYS, {
    runId: file.runId,
    changed: new Map([['design', file]]),
    history: new Map([['design', [file]]]),
    columns: new Map([['design', columns]]),
    outputDir,
  })
  const dim = output.models.find((m) => m.model.table.name === 'dim_design')!
  const db = await openDuckDb({ scratchDir: outputDir })
  try {
    const rows = dim.path ? await db.all<{ design_id: number; design_name: string }>(`SELECT design_id, design_name FROM '${dim.path}' ORDER BY 1`) : []
    const quarantine = output.quarantine[0]
    const bad = quarantine ? await db.all<{ reason: string; source_key: string; design_id: string | null }>(`SELECT reason, source_key, design_id FROM read_csv('${quarantine.path}', all_varchar = true) ORDER BY reason`) : []
    return { rows, bad, quarantined: quarantine?.rows ?? 0 }
  } finally {
    db.close()
  }
}

describe('runModels with hostile CSV records', () => {
  it('quarantines records DuckDB cannot read, with their line and without their values, and keeps every good row', async () => {
    const body = Buffer.concat([
      designRow(1, 'plain'),
      designRow(2, Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe])), // not UTF-8
      designRow(3, 'stray"quote'), // PostgreSQL would have quoted it; DuckDB reads it as it stands
      designRow(4, '"nul\u0000char"'),
      Buffer.from(`5,too,many,values,/d,${STAMP},${STAMP}\n`),
      Buffer.from(`6,too-few,/d,${STAMP}\n`),
      designRow(7, '"quoted, ""twice"""'),
      designRow(8, 'last'),
    ])
    const { rows, bad, quarantined } = await runDesign('hostile', body)
    assert.deepEqual(rows, [
      { design_id: 1, design_name: 'plain' },
      { design_id: 3, design_name: 'stray"quote' },
      { design_id: 7, design_name: 'quoted, "twice"' },
      { design_id: 8, design_name: 'last' },
    ])
    assert.equal(quarantined, 4)
    assert.deepEqual(
      bad.map((b) => [b.reason, b.source_key, b.design_id]),
      [
        ['design_name holds a NUL character', 'ingestion/design/hostile.csv', '4'],
        ['line 3 of the file could not be read: it is not valid UTF-8 in column design_name', 'ingestion/design/hostile.csv', null],
        ['line 6 of the file could not be read: it has more values than the header', 'ingestion/design/hostile.csv', null],
        ['line 7 of the file could not be read: it has fewer values than the header', 'ingestion/design/hostile.csv', null],
      ],
    )
  })

  it('sets aside only the unreadable records of the table they are in, when a run has several tables', async () => {
    const currencyColumns = [
      { name: 'currency_id', type: 'integer', nullable: false },
      { name: 'currency_code', type: 'character varying(3)', nullable: false },
      { name: 'created_at', type: TS, nullable: false },
      { name: 'last_updated', type: TS, nullable: false },
    ]
    const designPath = join(dir, 'design-two-tables.csv')
    writeFileSync(designPath, Buffer.concat([Buffer.from(`${DESIGN_COLUMNS.map((c) => c.name).join(',')}\n`), designRow(1, 'ok')]))
    const currencyPath = join(dir, 'currency-two-tables.csv')
    writeFileSync(currencyPath, `currency_id,currency_code,created_at,last_updated\n1,GBP,${STAMP},${STAMP}\n2,too-few\n`)
    const runId = '20241119T090000000Z'
    const design: SourceFile = { key: 'ingestion/design/two.csv', path: designPath, runId, columns: DESIGN_COLUMNS }
    const currency: SourceFile = { key: 'ingestion/currency/two.csv', path: currencyPath, runId, columns: currencyColumns }
    const output = await runModels(TOTESYS, {
      runId,
      changed: new Map([['design', design], ['currency', currency]]),
      history: new Map([['design', [design]], ['currency', [currency]]]),
      columns: new Map([['design', DESIGN_COLUMNS], ['currency', currencyColumns]]),
      outputDir: mkdtempSync(join(dir, 'two-tables-out-')),
    })
    assert.deepEqual(output.quarantine.map((q) => [q.table, q.rows]), [['currency', 1]])
    assert.deepEqual(output.models.filter((m) => ['dim_design', 'dim_currency'].includes(m.model.table.name)).map((m) => [m.model.table.name, m.rows]), [['dim_currency', 1], ['dim_design', 1]])
  })

  it('reads a record longer than DuckDB\'s default 2 MB limit whole, newlines inside its quotes included', async () => {
    const long = `"${'line of a long description, with a comma\n'.repeat(80_000)}"`
    const { rows, quarantined } = await runDesign('long', Buffer.concat([designRow(1, 'short'), designRow(2, long), designRow(3, 'after')]))
    assert.equal(quarantined, 0)
    assert.deepEqual(rows.map((r) => [r.design_id, r.design_name.length]), [[1, 5], [2, long.length - 2], [3, 5]])
    assert.equal(rows[1]!.design_name, long.slice(1, -1))
  })

  it('reads a record just past DuckDB\'s limit of 2 000 000 bytes, though shorter than 2 MiB', async () => {
    const name = 'n'.repeat(2_050_000)
    const { rows, quarantined } = await runDesign('just-long', Buffer.concat([designRow(1, name), designRow(2, 'after')]))
    assert.equal(quarantined, 0)
    assert.deepEqual(rows.map((r) => [r.design_id, r.design_name.length]), [[1, 2_050_000], [2, 5]])
  })

  it('reads source columns named like the columns the transform adds', async () => {
    const extra = ['_file', '_raw', '_reasons', '_filename', 'filename', '__reasons'].map((name) => ({ name, type: 'text', nullable: true }))
    const values = Buffer.from(',a,b,c,d,e,f\n')
    const body = Buffer.concat([designRow(1, 'one').subarray(0, -1), values, designRow(2, 'two').subarray(0, -1), Buffer.from(',,,,,,\n')])
    const { rows, quarantined } = await runDesign('internal-names', body, extra)
    assert.equal(quarantined, 0)
    assert.deepEqual(rows, [
      { design_id: 1, design_name: 'one' },
      { design_id: 2, design_name: 'two' },
    ])
  })
})

describe('longestRecordBytes', () => {
  it('measures records as DuckDB does, counting newlines inside quotes and doubled quotes', async () => {
    const path = join(dir, 'records.csv')
    const record = `1,"a ""quoted"" value\nover lines${'x'.repeat(3 * 1024 * 1024)}",z\n`
    writeFileSync(path, `id,v,w\n${record}2,b,c\n`)
    assert.equal(await longestRecordBytes(path), Buffer.byteLength(record))
    assert.equal(readFileSync(path).length > 3 * 1024 * 1024, true)
  })
})
