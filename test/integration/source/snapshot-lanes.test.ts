/**
 * Tables copied side by side on several connections all read the one
 * snapshot of the run: a row committed after the snapshot was taken appears
 * in no copy, whichever connection made it, and a single connection still
 * works when asked for.
 */
import assert from 'node:assert/strict'
import { text } from 'node:stream/consumers'
import { after, before, describe, it } from 'node:test'
import { PostgresSource } from '../../../src/source/postgres/postgres-source.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

const ALL = { column: 'last_updated', from: null, to: '9999-12-31 00:00:00.000' }

/** The ids in a CSV copy with a header whose first column is the id. */
function ids(csv: string): string[] {
  return csv
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => line.split(',')[0]!)
}

describe('copies on several connections of one snapshot', () => {
  it('see exactly the rows of the snapshot on every connection, concurrently', async () => {
    const pipeline = await fixture.pipeline()
    const before = await pipeline.source<{ n: string }>('SELECT count(*)::text AS n FROM staff')
    const departments = await pipeline.source<{ n: string }>('SELECT count(*)::text AS n FROM department')
    const snapshot = await new PostgresSource({ url: pipeline.sourceUrl, schema: 'public', copyConnections: 2 }).openSnapshot()
    try {
      assert.equal(snapshot.copyConcurrency, 2)
      // Committed after the snapshot: invisible to both connections.
      await pipeline.source("UPDATE staff SET email_address = 'moved@example.com', last_updated = now()")
      await pipeline.source("INSERT INTO staff (first_name, last_name, department_id, email_address, created_at, last_updated) VALUES ('New', 'Hire', 1, 'new@example.com', now(), now())")
      await pipeline.source("INSERT INTO department (department_name, location, manager, created_at, last_updated) VALUES ('Late Arrivals', 'Leeds', 'Nobody', now(), now())")
      const first = snapshot.copyRange('staff', ['staff_id', 'email_address'], ALL)
      const second = snapshot.copyRange('department', ['department_id', 'department_name'], ALL)
      const [staff, types] = await Promise.all([text(first), text(second)])
      assert.equal(ids(staff).length, Number(before[0]!.n))
      assert.equal(first.rowCount, Number(before[0]!.n))
      assert.ok(!staff.includes('moved@example.com'), 'an update committed after the snapshot leaked into a copy')
      assert.equal(ids(types).length, Number(departments[0]!.n))
      assert.ok(!types.includes('Late Arrivals'), 'a row committed after the snapshot leaked into the second connection')
      // A third copy after the first two: a connection is free again.
      const again = await text(snapshot.copyRange('staff', ['staff_id'], ALL))
      assert.deepEqual(ids(again), ids(staff))
    } finally {
      await snapshot.close()
    }
  })

  it('copies on the first connection when the source refuses a second one', async () => {
    const pipeline = await fixture.pipeline()
    const role = `lanes_limited_${process.pid}`
    await pipeline.source(`CREATE ROLE ${role} LOGIN PASSWORD 'lanes' CONNECTION LIMIT 1`)
    await pipeline.source(`GRANT SELECT ON ALL TABLES IN SCHEMA public TO ${role}`)
    const url = new URL(pipeline.sourceUrl)
    url.username = role
    url.password = 'lanes'
    const staffRows = Number((await pipeline.source<{ n: string }>('SELECT count(*)::text AS n FROM staff'))[0]!.n)
    const snapshot = await new PostgresSource({ url: url.toString(), schema: 'public', copyConnections: 2 }).openSnapshot()
    try {
      const first = snapshot.copyRange('staff', ['staff_id'], ALL)
      const second = snapshot.copyRange('staff', ['staff_id', 'email_address'], ALL)
      const [a, b] = await Promise.all([text(first), text(second)])
      assert.equal(ids(a).length, staffRows)
      assert.deepEqual(ids(b), ids(a))
      assert.equal(second.rowCount, staffRows)
    } finally {
      await snapshot.close()
      await pipeline.source(`DROP OWNED BY ${role}`)
      await pipeline.source(`DROP ROLE ${role}`)
    }
  })

  it('copies one table at a time with one connection', async () => {
    const pipeline = await fixture.pipeline()
    const snapshot = await new PostgresSource({ url: pipeline.sourceUrl, schema: 'public', copyConnections: 1 }).openSnapshot()
    try {
      assert.equal(snapshot.copyConcurrency, 1)
      const staff = await text(snapshot.copyRange('staff', ['staff_id'], ALL))
      assert.ok(ids(staff).length > 0)
      assert.throws(() => {
        snapshot.copyRange('staff', ['staff_id'], ALL)
        snapshot.copyRange('staff', ['staff_id'], ALL)
      }, /busy/)
    } finally {
      await snapshot.close().catch(() => {})
    }
  })
})
