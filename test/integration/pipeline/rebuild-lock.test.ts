/**
 * `starline rebuild` on PostgreSQL holds the target schema's load lock from
 * its first step to its swap: a load or a second rebuild waits within its
 * bound, then refuses retryably (exit 75, one line), and nothing
 * interleaves. A lost answer to the swap's COMMIT is read back: success when
 * the swap took effect, a second try when it provably did not; a second
 * rebuild afterwards converges.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { isRetryable } from '../../../src/core/retry.js'
import { load } from '../../../src/pipeline/load.js'
import { buildSchemaName, rebuild } from '../../../src/pipeline/rebuild.js'
import type { Logger } from '../../../src/observe/logger.js'
import { ledgerFingerprint, swapOutcome } from '../../../src/warehouse/postgres/postgres-rebuild-lock.js'
import { PostgresWarehouse } from '../../../src/warehouse/postgres/postgres-warehouse.js'
import { qualify, quoteIdent } from '../../../src/sql/quote.js'
import { LEDGER_TABLE, type Warehouse } from '../../../src/warehouse/warehouse.js'
import { runCli } from '../../support/cli-process.js'
import { PipelineFixture, type Pipeline } from '../../support/pipeline-fixture.js'
import { assertWarehouseMatchesSource } from '../../support/source-comparison.js'

const fixture = new PipelineFixture()
let pipeline: Pipeline
const BUILD = buildSchemaName('public')
const LOCK_HELD = /another starline load or rebuild is running/

before(async () => {
  await fixture.start()
  pipeline = await fixture.pipeline({ scale: 0.1 })
  await pipeline.cycle()
  await pipeline.source("UPDATE staff SET last_name = last_name || '-Jones', last_updated = clock_timestamp()::timestamp(3) WHERE staff_id = 1")
  await pipeline.cycle()
})
after(() => fixture.stop())

async function buildSchemaExists(): Promise<boolean> {
  const [row] = await pipeline.warehouse<{ e: boolean }>('SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS e', [BUILD])
  return row!.e
}

/** A logger that keeps the messages and calls `on` with each. */
function recordingLogger(messages: string[], on: (message: string) => void = () => {}): Logger {
  const log = (message: string): void => {
    messages.push(message)
    on(message)
  }
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger } as unknown as Logger
  return logger
}

describe('rebuild lock on PostgreSQL', () => {
  it('makes a load wait while a rebuild builds, then lets it through once the swap is done', async () => {
    const warehouse = new PostgresWarehouse({ url: pipeline.warehouseUrl })
    const other = new PostgresWarehouse({ url: pipeline.warehouseUrl })
    // The real warehouse, with the rebuild's first run load held at a gate: the test acts mid-build, every time.
    let entered!: () => void
    const building = new Promise<void>((resolve) => (entered = resolve))
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const gated: Warehouse = {
      capabilities: warehouse.capabilities,
      ensureTables: (schema, tables, options) => warehouse.ensureTables(schema, tables, options),
      loadRun: async (plan) => {
        entered()
        await gate
        return warehouse.loadRun(plan)
      },
      loadedRuns: (schema, range) => warehouse.loadedRuns(schema, range),
      newestLoadedRun: (schema) => warehouse.newestLoadedRun(schema),
      checkAgainstLedger: (schema, tables) => warehouse.checkAgainstLedger(schema, tables),
      replaceSchema: (build, target, tables) => warehouse.replaceSchema(build, target, tables),
      dropSchema: (schema) => warehouse.dropSchema(schema),
      lockSchema: (schema, options) => warehouse.lockSchema(schema, options),
      close: () => warehouse.close(),
    }
    try {
      const running = rebuild(pipeline.ctx, { warehouse: gated, schema: 'public' })
      await building
      // Mid-build: a load into the target, and a second rebuild, must not go ahead.
      await assert.rejects(load(pipeline.ctx, { warehouse: other, schema: 'public', lockWaitMs: 300 }), (error: Error) => {
        assert.match(error.message, LOCK_HELD)
        assert.ok(isRetryable(error))
        return true
      })
      await assert.rejects(rebuild(pipeline.ctx, { warehouse: other, schema: 'public', lockWaitMs: 300 }), LOCK_HELD)
      assert.equal(await buildSchemaExists(), true, 'the second rebuild left the first one\'s build alone')
      open()
      const summary = await running
      assert.equal(summary.dryRun, false)
      assert.equal(await buildSchemaExists(), false)
      await load(pipeline.ctx, { warehouse: other, schema: 'public', lockWaitMs: 300 })
      await assertWarehouseMatchesSource(pipeline)
    } finally {
      await warehouse.close()
      await other.close()
    }
  })

  it('refuses a second rebuild with one line and exit status 75 while the lock is held, changing nothing', async () => {
    const holder = new PostgresWarehouse({ url: pipeline.warehouseUrl })
    const lock = await holder.lockSchema('public')
    try {
      const env = {
        STARLINE_WAREHOUSE_URL: pipeline.warehouseUrl,
        STARLINE_INGESTION_URL: pipeline.config.ingestionUrl,
        STARLINE_PROCESSED_URL: pipeline.config.processedUrl,
      }
      const refused = await runCli(['rebuild', '--yes'], env)
      assert.equal(refused.code, 75, refused.stderr)
      assert.match(refused.stderr, /^starline: Another session has held the load lock of schema "public" .* another starline load or rebuild is running.*\n$/)
      assert.equal(await buildSchemaExists(), false, 'the refused rebuild built nothing')
    } finally {
      await lock.release()
      await holder.close()
    }
  })

  for (const when of ['after', 'before'] as const) {
    it(`reads back the swap when the connection drops ${when} COMMIT is sent, and a second rebuild converges`, async () => {
      const pool = new pg.Pool({ connectionString: pipeline.warehouseUrl, max: 3 })
      pool.on('error', () => {})
      let armed = false
      let commits = 0
      const connect = pool.connect.bind(pool)
      // The fault is the point: the connection of the swap is cut around its COMMIT, on a real server.
      pool.connect = (async () => {
        const client = await connect()
        const tagged = client as pg.PoolClient & { faulty?: boolean; connection: { stream: { destroy(): void } } }
        if (!tagged.faulty) {
          tagged.faulty = true
          const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>
          ;(client as unknown as { query: (...args: unknown[]) => Promise<unknown> }).query = (...args: unknown[]) => {
            if (!armed || args[0] !== 'COMMIT') return query(...args)
            armed = false
            commits++
            if (when === 'before') {
              tagged.connection.stream.destroy()
              return query(...args)
            }
            return query(...args).then(() => {
              tagged.connection.stream.destroy()
              throw new Error('Connection terminated unexpectedly')
            })
          }
        }
        return client
      }) as typeof pool.connect
      const warehouse: Warehouse = new PostgresWarehouse({ pool })
      const messages: string[] = []
      const ctx = { ...pipeline.ctx, logger: recordingLogger(messages, (m) => (armed ||= m === 'rebuild: swapping the rebuilt tables in')) }
      try {
        await pipeline.warehouse('DELETE FROM fact_sales_order WHERE sales_record_id = 1')
        const summary = await rebuild(ctx, { warehouse, schema: 'public' })
        assert.equal(summary.dryRun, false)
        assert.equal(commits, 1, 'the fault struck the swap')
        assert.equal(messages.some((m) => /answer to the swap was lost/.test(m)), when === 'after')
        assert.equal(await buildSchemaExists(), false)
        assert.deepEqual(await warehouse.checkAgainstLedger('public', pipeline.ctx.dataset.models.map((m) => m.table)), [])
        await assertWarehouseMatchesSource(pipeline)
        await rebuild(pipeline.ctx, { warehouse, schema: 'public' })
        await assertWarehouseMatchesSource(pipeline)
      } finally {
        await warehouse.close()
        await pool.end()
      }
    })
  }

  it('tells a swap that took effect from one that did not, and says unknown when the read-back proves neither', async () => {
    const client = new pg.Client({ connectionString: pipeline.warehouseUrl })
    await client.connect()
    try {
      const live = await ledgerFingerprint(client, 'public')
      assert.ok(live !== undefined && live.length > 0)
      assert.equal(await swapOutcome(client, BUILD, 'public', live), 'swapped')
      // The build gone, but the live ledger is not the build's: something else happened (another rebuild, a hand edit).
      assert.equal(await swapOutcome(client, BUILD, 'public', `${live},x`), 'unknown')
      await client.query(`CREATE SCHEMA ${quoteIdent(BUILD)}`)
      await client.query(`CREATE TABLE ${qualify(BUILD, LEDGER_TABLE)} AS SELECT * FROM ${qualify('public', LEDGER_TABLE)} WHERE run_id = (SELECT min(run_id) FROM ${qualify('public', LEDGER_TABLE)})`)
      const built = (await ledgerFingerprint(client, BUILD))!
      assert.equal(await swapOutcome(client, BUILD, 'public', built), 'not-swapped')
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(BUILD)} CASCADE`)
      await client.end()
    }
  })

  it('waits for a reader of the live tables at the swap, longer than its lock wait, and swaps', async () => {
    const reader = new pg.Client({ connectionString: pipeline.warehouseUrl })
    await reader.connect()
    const warehouse = new PostgresWarehouse({ url: pipeline.warehouseUrl })
    await reader.query('BEGIN')
    await reader.query('SELECT count(*) FROM public.fact_sales_order')
    // The reader holds the table well past the rebuild's lock wait, then lets go.
    const released = new Promise<void>((resolve) => setTimeout(() => void reader.query('ROLLBACK').then(() => resolve()), 4_000))
    try {
      await rebuild(pipeline.ctx, { warehouse, schema: 'public', lockWaitMs: 300 })
      assert.equal(await buildSchemaExists(), false)
      await assertWarehouseMatchesSource(pipeline)
    } finally {
      await released
      await reader.end()
      await warehouse.close()
    }
  })
})
