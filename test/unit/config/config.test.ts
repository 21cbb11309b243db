import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { pathToFileURL } from 'node:url'
import { loadConfig, requireSetting } from '../../../src/config/config.js'
import { ConfigError } from '../../../src/config/errors.js'

let dir: string
let fileCount = 0

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'starline-config-'))
})

after(() => {
  rmSync(dir, { recursive: true, force: true })
})

/** Writes `content` (an object, or raw text) to a fresh file in the temp dir; returns its name. */
function configFile(content: unknown): string {
  const name = `starline-${++fileCount}.json`
  writeFileSync(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content))
  return name
}

/** Asserts that `fn` throws a ConfigError whose message contains every part. */
function assertConfigError(fn: () => unknown, ...parts: string[]): ConfigError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`)
  for (const part of parts) assert.ok(caught.message.includes(part), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(part)}`)
  assert.equal(caught.retryable, false)
  return caught
}

describe('loadConfig', () => {
  describe('defaults', () => {
    it('uses the public schema for source and warehouse', () => {
      const config = loadConfig({ env: {}, cwd: dir })
      assert.equal(config.sourceSchema, 'public')
      assert.equal(config.warehouseSchema, 'public')
    })

    it('places both lake zones under <cwd>/.starline/lake', () => {
      const config = loadConfig({ env: {}, cwd: dir })
      const root = pathToFileURL(join(dir, '.starline', 'lake')).href
      assert.equal(config.ingestionUrl, `${root}/ingestion`)
      assert.equal(config.processedUrl, `${root}/processed`)
    })

    it('holds back rows stamped in the last 10 seconds', () => {
      assert.equal(loadConfig({ env: {}, cwd: dir }).extractLagMs, 10_000)
    })

    it('leaves source and warehouse URLs unset', () => {
      const config = loadConfig({ env: {}, cwd: dir })
      assert.equal(config.sourceUrl, undefined)
      assert.equal(config.warehouseUrl, undefined)
      assert.ok(!('sourceUrl' in config) && !('warehouseUrl' in config))
    })

    it('logs warnings and above and uses an absolute scratch dir', () => {
      const config = loadConfig({ env: {}, cwd: dir })
      assert.equal(config.logLevel, 'warn')
      assert.ok(config.scratchDir.startsWith('/'))
      assert.ok(config.leaseTtlMs > 0)
    })

    it('treats an empty environment variable as unset', () => {
      const config = loadConfig({ env: { STARLINE_SOURCE_SCHEMA: '', STARLINE_SOURCE_URL: '' }, cwd: dir })
      assert.equal(config.sourceSchema, 'public')
      assert.equal(config.sourceUrl, undefined)
    })
  })

  describe('from the environment', () => {
    it('reads every setting', () => {
      const config = loadConfig({
        cwd: dir,
        env: {
          STARLINE_SOURCE_URL: 'postgres://reader@source.example:5432/totesys',
          STARLINE_SOURCE_SCHEMA: 'sales',
          STARLINE_INGESTION_URL: 'file:///lake/ingestion',
          STARLINE_PROCESSED_URL: 'file://localhost/lake/processed',
          STARLINE_WAREHOUSE_URL: 'postgresql://loader@dw.example/analytics',
          STARLINE_WAREHOUSE_SCHEMA: 'star',
          STARLINE_EXTRACT_LAG: '1.5m',
          STARLINE_LEASE_TTL: '2h',
          STARLINE_RECONCILE_INTERVAL: '15m',
          STARLINE_LATE_ROWS_INTERVAL: '12h',
          STARLINE_SCRATCH_DIR: '/var/tmp/starline',
          STARLINE_DUCKDB_MEMORY: '384MB',
          STARLINE_WAREHOUSE_DUCKDB_MEMORY: '1GB',
          STARLINE_LOG_LEVEL: 'debug',
          STARLINE_RETRIES: '5',
          STARLINE_ALERT_SINK: 'https://hooks.example/starline',
          STARLINE_FRESHNESS_TARGET: '45m',
          STARLINE_HELD_ALERT_RUNS: '6',
        },
      })
      assert.deepEqual(config, {
        sourceUrl: 'postgres://reader@source.example:5432/totesys',
        sourceSchema: 'sales',
        ingestionUrl: 'file:///lake/ingestion',
        processedUrl: 'file://localhost/lake/processed',
        warehouseUrl: 'postgresql://loader@dw.example/analytics',
        warehouseSchema: 'star',
        extractLagMs: 90_000,
        leaseTtlMs: 7_200_000,
        reconcileIntervalMs: 900_000,
        lateRowsIntervalMs: 43_200_000,
        retries: 5,
        scratchDir: '/var/tmp/starline',
        duckdbMemory: '384MB',
        warehouseDuckdbMemory: '1GB',
        logLevel: 'debug',
        alertSink: 'https://hooks.example/starline',
        freshnessTargetMs: 2_700_000,
        heldAlertRuns: 6,
      })
    })

    it('reads durations in ms, s, m and h, and bare numbers as ms', () => {
      const lag = (value: string): number => loadConfig({ env: { STARLINE_EXTRACT_LAG: value }, cwd: dir }).extractLagMs
      assert.equal(lag('500ms'), 500)
      assert.equal(lag('10s'), 10_000)
      assert.equal(lag('5m'), 300_000)
      assert.equal(lag('1h'), 3_600_000)
      assert.equal(lag('250'), 250)
      assert.equal(lag('0s'), 0)
      assert.equal(loadConfig({ env: {}, cwd: dir }).freshnessTargetMs, 30 * 60_000, 'the 30-minute requirement by default')
    })

    it('accepts a password in an environment URL', () => {
      const url = 'postgres://user:hunter2@host:5432/db'
      const config = loadConfig({ env: { STARLINE_SOURCE_URL: url, STARLINE_WAREHOUSE_URL: url }, cwd: dir })
      assert.equal(config.sourceUrl, url)
      assert.equal(config.warehouseUrl, url)
    })

    it('accepts a schema name of exactly 63 characters', () => {
      const schema = 's'.repeat(63)
      assert.equal(loadConfig({ env: { STARLINE_WAREHOUSE_SCHEMA: schema }, cwd: dir }).warehouseSchema, schema)
    })
  })

  describe('invalid values in the environment', () => {
    const rejects = (env: NodeJS.ProcessEnv, variable: string, ...parts: string[]): ConfigError =>
      assertConfigError(() => loadConfig({ env, cwd: dir }), variable, ...parts)

    it('rejects a source URL that is not a URL', () => {
      rejects({ STARLINE_SOURCE_URL: 'not a url' }, 'STARLINE_SOURCE_URL', 'not a valid URL')
    })

    it('rejects a warehouse URL that is not a URL', () => {
      rejects({ STARLINE_WAREHOUSE_URL: 'host=db dbname=x' }, 'STARLINE_WAREHOUSE_URL')
    })

    it('rejects a mysql:// URL', () => {
      rejects({ STARLINE_SOURCE_URL: 'mysql://user@host:3306/db' }, 'STARLINE_SOURCE_URL', 'postgres://', 'mysql:')
    })

    it('rejects a postgres URL without a database', () => {
      rejects({ STARLINE_SOURCE_URL: 'postgres://user@host:5432' }, 'STARLINE_SOURCE_URL', 'database')
      rejects({ STARLINE_WAREHOUSE_URL: 'postgres://user@host:5432/' }, 'STARLINE_WAREHOUSE_URL', 'database')
    })

    it('rejects an alert sink that is neither stderr, a web URL nor an SNS topic ARN', () => {
      rejects({ STARLINE_ALERT_SINK: 'mailto:ops@example.com' }, 'STARLINE_ALERT_SINK', 'SNS topic ARN')
      rejects({ STARLINE_ALERT_SINK: 'arn:aws:sqs:eu-west-2:123456789012:q' }, 'STARLINE_ALERT_SINK')
      rejects({ STARLINE_HELD_ALERT_RUNS: '0' }, 'STARLINE_HELD_ALERT_RUNS', 'at least 1')
    })

    it('rejects a postgres URL without a host', () => {
      rejects({ STARLINE_SOURCE_URL: 'postgres:///db' }, 'STARLINE_SOURCE_URL', 'host')
    })

    it('keeps the password of a rejected URL out of the message', () => {
      const error = rejects({ STARLINE_SOURCE_URL: 'mysql://user:hunter2@host/db' }, 'STARLINE_SOURCE_URL')
      assert.doesNotMatch(error.message, /hunter2/)
      const garbled = rejects({ STARLINE_WAREHOUSE_URL: 'postgres://user:hunter2@' }, 'STARLINE_WAREHOUSE_URL')
      assert.doesNotMatch(garbled.message, /hunter2/)
    })

    it('accepts s3:// lake URLs with and without a prefix', () => {
      const config = loadConfig({ env: { STARLINE_INGESTION_URL: 's3://my-lake/ingestion', STARLINE_PROCESSED_URL: 's3://my-lake' }, cwd: dir })
      assert.equal(config.ingestionUrl, 's3://my-lake/ingestion')
      assert.equal(config.processedUrl, 's3://my-lake')
    })

    it('rejects an s3:// lake URL with an invalid bucket name or prefix', () => {
      rejects({ STARLINE_INGESTION_URL: 's3://My_Bucket/ingestion' }, 'STARLINE_INGESTION_URL', 'My_Bucket', 'bucket name')
      rejects({ STARLINE_PROCESSED_URL: 's3://bucket/a//b' }, 'STARLINE_PROCESSED_URL', 'prefix')
      rejects({ STARLINE_PROCESSED_URL: 's3://bucket/../up' }, 'STARLINE_PROCESSED_URL', 'prefix')
    })

    it('rejects a lake URL of another scheme, naming the ones it supports', () => {
      rejects({ STARLINE_INGESTION_URL: 'ftp://host/lake' }, 'STARLINE_INGESTION_URL', 'ftp:', 'file:///', 's3://')
    })

    it('resolves a relative file: URL against cwd, not the filesystem root', () => {
      const config = loadConfig({ env: { STARLINE_INGESTION_URL: 'file:lake/ingestion', STARLINE_PROCESSED_URL: 'file:./lake/processed' }, cwd: dir })
      assert.equal(config.ingestionUrl, pathToFileURL(join(dir, 'lake', 'ingestion')).href)
      assert.equal(config.processedUrl, pathToFileURL(join(dir, 'lake', 'processed')).href)
    })

    it('rejects a lake URL that is not a URL', () => {
      rejects({ STARLINE_INGESTION_URL: './lake' }, 'STARLINE_INGESTION_URL')
    })

    it('rejects a file URL whose path was read as a host', () => {
      rejects({ STARLINE_INGESTION_URL: 'file://lake/ingestion' }, 'STARLINE_INGESTION_URL', 'file:///')
    })

    it('rejects a malformed duration', () => {
      for (const value of ['ten seconds', '10 sec', '-5s', '10d', '1e3', 's']) {
        rejects({ STARLINE_EXTRACT_LAG: value }, 'STARLINE_EXTRACT_LAG', JSON.stringify(value))
      }
      rejects({ STARLINE_LEASE_TTL: '15 minutes' }, 'STARLINE_LEASE_TTL')
    })

    it('rejects a lease time to live outside 1s to 24h, and durations too long to hold', () => {
      for (const value of ['0s', '999ms', '25h']) rejects({ STARLINE_LEASE_TTL: value }, 'STARLINE_LEASE_TTL', '1s and 24h')
      rejects({ STARLINE_EXTRACT_LAG: '1'.repeat(400) }, 'STARLINE_EXTRACT_LAG')
    })

    it('rejects an unknown log level and lists the valid ones', () => {
      rejects({ STARLINE_LOG_LEVEL: 'verbose' }, 'STARLINE_LOG_LEVEL', 'debug', 'silent')
      rejects({ STARLINE_LOG_LEVEL: 'WARN' }, 'STARLINE_LOG_LEVEL')
    })

    it('rejects a schema name longer than 63 characters', () => {
      rejects({ STARLINE_SOURCE_SCHEMA: 's'.repeat(64) }, 'STARLINE_SOURCE_SCHEMA', '63')
      rejects({ STARLINE_WAREHOUSE_SCHEMA: 'w'.repeat(100) }, 'STARLINE_WAREHOUSE_SCHEMA')
    })

    it('rejects a schema name containing NUL', () => {
      rejects({ STARLINE_WAREHOUSE_SCHEMA: 'a\0b' }, 'STARLINE_WAREHOUSE_SCHEMA')
    })

    it('rejects a relative scratch dir', () => {
      rejects({ STARLINE_SCRATCH_DIR: 'tmp/scratch' }, 'STARLINE_SCRATCH_DIR', 'absolute')
    })
  })

  describe('from a config file', () => {
    it('overrides the environment', () => {
      const file = configFile({ source: { schema: 'from_file' }, extract: { lag: '2s' }, log: { level: 'error' } })
      const config = loadConfig({
        file,
        cwd: dir,
        env: { STARLINE_SOURCE_SCHEMA: 'from_env', STARLINE_EXTRACT_LAG: '1h', STARLINE_WAREHOUSE_SCHEMA: 'kept_from_env' },
      })
      assert.equal(config.sourceSchema, 'from_file')
      assert.equal(config.extractLagMs, 2000)
      assert.equal(config.logLevel, 'error')
      assert.equal(config.warehouseSchema, 'kept_from_env')
    })

    it('reads every file key', () => {
      const file = configFile({
        source: { url: 'postgres://reader@source.example/totesys', schema: 's' },
        lake: { ingestion: 'file:///l/i', processed: 'file:///l/p' },
        warehouse: { url: 'postgres://loader@dw.example/analytics', schema: 'w' },
        extract: { lag: '1s', reconcile: 'off', late_rows: 'off' },
        lease: { ttl: '1m' },
        retry: { attempts: 0 },
        scratch: { dir: '/scratch' },
        duckdb: { memory: '2gb' },
        log: { level: 'silent' },
        alerts: { sink: 'arn:aws:sns:eu-west-2:123456789012:starline-alerts', freshness: '10m', held_runs: 2 },
      })
      assert.deepEqual(loadConfig({ file, cwd: dir, env: {} }), {
        sourceUrl: 'postgres://reader@source.example/totesys',
        sourceSchema: 's',
        ingestionUrl: 'file:///l/i',
        processedUrl: 'file:///l/p',
        warehouseUrl: 'postgres://loader@dw.example/analytics',
        warehouseSchema: 'w',
        extractLagMs: 1000,
        leaseTtlMs: 60_000,
        retries: 0,
        scratchDir: '/scratch',
        duckdbMemory: '2GB',
        warehouseDuckdbMemory: '512MB',
        logLevel: 'silent',
        alertSink: 'arn:aws:sns:eu-west-2:123456789012:starline-alerts',
        freshnessTargetMs: 600_000,
        heldAlertRuns: 2,
      })
    })

    it('resolves a relative file path against cwd', () => {
      const file = configFile({ warehouse: { schema: 'relative' } })
      assert.equal(loadConfig({ file, cwd: dir, env: {} }).warehouseSchema, 'relative')
      assert.equal(loadConfig({ file: join(dir, file), cwd: '/', env: {} }).warehouseSchema, 'relative')
    })

    it('names the file key, not the variable, in an error about a file value', () => {
      const file = configFile({ lake: { ingestion: 'ftp://bucket/x' } })
      const error = assertConfigError(
        () => loadConfig({ file, cwd: dir, env: { STARLINE_INGESTION_URL: 'file:///fine' } }),
        '"lake.ingestion"',
        file,
      )
      assert.doesNotMatch(error.message, /STARLINE_INGESTION_URL/)
    })

    it('names the file key for each kind of invalid value', () => {
      const cases: [unknown, string][] = [
        [{ source: { url: 'mysql://h/db' } }, '"source.url"'],
        [{ warehouse: { url: 'postgres://h' } }, '"warehouse.url"'],
        [{ extract: { lag: 'soon' } }, '"extract.lag"'],
        [{ log: { level: 'loud' } }, '"log.level"'],
        [{ warehouse: { schema: 'x'.repeat(64) } }, '"warehouse.schema"'],
        [{ scratch: { dir: 'relative' } }, '"scratch.dir"'],
      ]
      for (const [content, key] of cases) {
        assertConfigError(() => loadConfig({ file: configFile(content), cwd: dir, env: {} }), key)
      }
    })

    it('rejects an unknown key and names it', () => {
      const file = configFile({ source: { host: 'db.example' } })
      assertConfigError(() => loadConfig({ file, cwd: dir, env: {} }), '"source.host"', 'Unknown setting')
    })

    it('rejects an unknown top-level key', () => {
      const file = configFile({ sourceUrl: 'postgres://h/db' })
      assertConfigError(() => loadConfig({ file, cwd: dir, env: {} }), '"sourceUrl"')
    })

    it('rejects a file that is not JSON', () => {
      const file = configFile('{ "source": ')
      assertConfigError(() => loadConfig({ file, cwd: dir, env: {} }), 'config file', 'JSON')
    })

    it('rejects a file that does not exist', () => {
      assertConfigError(() => loadConfig({ file: 'missing.json', cwd: dir, env: {} }), 'missing.json')
    })

    it('rejects a password in a source or warehouse URL and points to the environment', () => {
      for (const [content, key, variable] of [
        [{ source: { url: 'postgres://user:hunter2@host:5432/db' } }, '"source.url"', 'STARLINE_SOURCE_URL'],
        [{ warehouse: { url: 'postgresql://user:hunter2@host/db' } }, '"warehouse.url"', 'STARLINE_WAREHOUSE_URL'],
      ] as const) {
        const error = assertConfigError(() => loadConfig({ file: configFile(content), cwd: dir, env: {} }), key, 'password', 'environment', variable)
        assert.doesNotMatch(error.message, /hunter2/)
      }
    })

    it('rejects a password passed as a query parameter in a config file URL', () => {
      // libpq and pg both read ?password=... as the password.
      const file = configFile({ source: { url: 'postgres://user@host:5432/db?password=hunter2' } })
      const error = assertConfigError(() => loadConfig({ file, cwd: dir, env: {} }), '"source.url"', 'environment')
      assert.doesNotMatch(error.message, /hunter2/)
    })
  })
})

describe('requireSetting', () => {
  it('returns a setting that is present', () => {
    const config = loadConfig({ env: { STARLINE_WAREHOUSE_URL: 'postgres://h/dw' }, cwd: dir })
    assert.equal(requireSetting(config, 'warehouseUrl'), 'postgres://h/dw')
  })

  it('names the environment variable of a missing setting', () => {
    const config = loadConfig({ env: {}, cwd: dir })
    assertConfigError(() => requireSetting(config, 'sourceUrl'), 'STARLINE_SOURCE_URL', 'not set')
    assertConfigError(() => requireSetting(config, 'warehouseUrl'), 'STARLINE_WAREHOUSE_URL', 'not set')
  })
})
