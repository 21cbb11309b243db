/**
 * Redshift SQL pinned by golden files (test/golden/redshift/): every
 * statement the engine generates. `STARLINE_REWRITE_GOLDEN=1` rewrites them;
 * review the diff. The statements PostgreSQL also accepts are run on a real
 * PostgreSQL in test/integration/warehouse/redshift-sql.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TOTESYS } from '../../../src/datasets/totesys/totesys-dataset.js'
import { inDependencyOrder, type TableSpec } from '../../../src/schema/table-spec.js'
import { ensureTablesSql } from '../../../src/warehouse/redshift/redshift-ddl.js'
import { dimensionLedgerSql, upsertDimensionSql } from '../../../src/warehouse/redshift/redshift-dimensions.js'
import { appendFactsSql } from '../../../src/warehouse/redshift/redshift-facts.js'
import { holdUnresolvedSql, releaseHeldSql } from '../../../src/warehouse/redshift/redshift-held-rows.js'
import { insertLedgerSql, ledgerGuardSql, loadedRunsSql, lockLedgerSql, runTablesSql } from '../../../src/warehouse/redshift/redshift-ledger.js'
import type { Statement } from '../../../src/warehouse/redshift/redshift-session.js'
import { copyManifestJson, copySql, createStageSql, loadErrorsSql } from '../../../src/warehouse/redshift/redshift-staging.js'
import { loadScript } from '../../../src/warehouse/redshift/redshift-warehouse.js'
import { assertGolden } from '../../support/golden.js'

const ROLE = 'arn:aws:iam::123456789012:role/starline-copy'
const RUN = '20241119T093000Z'
const SCHEMA = 'star'
// By name, so the golden files pin the SQL, not the order the dataset lists its models in.
const TOTESYS_STAR_TABLES: readonly TableSpec[] = TOTESYS.models.map((m) => m.table).sort((a, b) => a.name.localeCompare(b.name))
const byName = (name: string) => TOTESYS_STAR_TABLES.find((t) => t.name === name)!

/** Statements as a golden file: each ends with `;`, parameters listed after it. */
function render(statements: readonly (Statement | string)[]): string {
  return statements
    .map((s) => (typeof s === 'string' ? { sql: s } : s))
    .map((s) => `${s.sql};${s.params ? `\n-- params: ${JSON.stringify(s.params)}` : ''}`)
    .join('\n\n')
}

describe('Redshift SQL golden files', () => {
  it('generates the DDL for the ToteSys star schema', () => {
    assertGolden('redshift/ddl.sql', render(ensureTablesSql(SCHEMA, inDependencyOrder(TOTESYS_STAR_TABLES))))
  })

  it('stages with COPY ... IAM_ROLE ... FORMAT AS PARQUET MANIFEST', () => {
    const spec = byName('fact_sales_order')
    const manifest = 's3://lake-bucket/processed/_copy/20241119T093000Z/fact_sales_order.manifest'
    assertGolden('redshift/copy.sql', render([...createStageSql(SCHEMA, RUN, spec), copySql(SCHEMA, RUN, spec, manifest, ROLE)]))
  })

  it('writes a COPY manifest that lists exactly the run file, mandatory, with its length', () => {
    const json = copyManifestJson([{ url: 's3://lake-bucket/processed/fact_sales_order/2024/11/19/20241119T093000Z.parquet', bytes: 48213 }])
    assertGolden('redshift/copy-manifest.json', json)
    assert.deepEqual(JSON.parse(json).entries[0].meta, { content_length: 48213 })
  })

  it('merges a dimension', () => {
    const spec = byName('dim_staff')
    assertGolden('redshift/dimension-merge.sql', render([dimensionLedgerSql(SCHEMA, RUN, [{ spec, index: 0 }])!, ...upsertDimensionSql(SCHEMA, RUN, spec)]))
  })

  it('appends facts with record ids after the maximum, in append order', () => {
    assertGolden('redshift/fact-append.sql', render([appendFactsSql(SCHEMA, RUN, byName('fact_sales_order'))]))
  })

  it('moves unresolved facts to the held table and releases them', () => {
    const spec = byName('fact_payment')
    assertGolden('redshift/held-rows.sql', render([...releaseHeldSql(SCHEMA, RUN, spec), ...holdUnresolvedSql(SCHEMA, RUN, spec)]))
  })

  it('writes and reads the ledger', () => {
    const entry = { runId: RUN, dataset: 'totesys', manifestSha256: 'ab'.repeat(32), rows: 42, loadedAt: new Date('2024-11-19T09:31:02.123Z') }
    assertGolden(
      'redshift/ledger.sql',
      render([lockLedgerSql(SCHEMA), insertLedgerSql(SCHEMA, entry), ledgerGuardSql(SCHEMA, RUN), loadedRunsSql(SCHEMA), runTablesSql(SCHEMA, RUN)]),
    )
  })

  it('queries the load errors of the run files', () => {
    assertGolden('redshift/load-errors.sql', render([loadErrorsSql(['s3://lake-bucket/processed/dim_staff/2024/11/19/20241119T093000Z.parquet'])]))
  })

  it('generates a whole run as one transaction that fits a Data API batch', () => {
    const tables = inDependencyOrder(TOTESYS_STAR_TABLES).map((spec) => ({ spec, rows: 10 }))
    const script = loadScript({
      schema: SCHEMA,
      runId: RUN,
      dataset: 'totesys',
      manifestSha256: 'ab'.repeat(32),
      loadedAt: new Date('2024-11-19T09:31:02.123Z'),
      tables,
      facts: TOTESYS_STAR_TABLES.filter((t) => t.kind === 'fact'),
    })
    assertGolden('redshift/load-run.sql', render(script))
    assert.ok(script.length <= 40, `${script.length} statements: more than a Data API batch takes`)
  })
})
