/**
 * A COPY whose reader gives up midway (the lake upload failed) must not leave
 * its connection busy for ever: the extract's ROLLBACK or COMMIT is queued
 * behind it, and a stage that never ends renews its lease for ever.
 */
import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, describe, it } from 'node:test'
import pg from 'pg'
import { CopyOutStream } from '../../../src/engines/postgres/copy-out-stream.js'
import { PipelineFixture } from '../../support/pipeline-fixture.js'

const fixture = new PipelineFixture()
before(() => fixture.start())
after(() => fixture.stop())

describe('a COPY TO STDOUT abandoned by its reader', () => {
  it('frees the connection: the next statement settles instead of waiting behind the COPY', async () => {
    const pipeline = await fixture.pipeline()
    const client = new pg.Client({ connectionString: pipeline.sourceUrl })
    client.on('error', () => {})
    await client.connect()
    try {
      // Far more than the socket buffers hold, so the server is still sending when the reader stops.
      const copy = new CopyOutStream("COPY (SELECT g, repeat('x', 200) FROM generate_series(1, 2000000) g) TO STDOUT")
      // As the source submits it: pg's Submittable types the connection as its internal Connection.
      client.query(copy as unknown as pg.Submittable)
      const first = await new Promise<Buffer>((resolve, reject) => {
        copy.once('data', resolve)
        copy.once('error', reject)
      })
      assert.ok(first.length > 0)
      copy.on('error', () => {})
      copy.destroy(new Error('the upload failed'))
      const next = client.query('ROLLBACK').then(
        () => 'answered',
        () => 'failed',
      )
      const outcome = await Promise.race([next, sleep(15_000).then(() => 'still waiting after 15 s')])
      assert.notEqual(outcome, 'still waiting after 15 s')
    } finally {
      await Promise.race([client.end().catch(() => {}), sleep(2_000)])
    }
  })
})
