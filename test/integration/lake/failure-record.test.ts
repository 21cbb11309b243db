import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { after, describe, it } from 'node:test'
import { StarlineError } from '../../../src/core/starline-error.js'
import { lastFailure, recordFailure } from '../../../src/lake/failure-record.js'
import { FsObjectStore } from '../../../src/lake/fs/fs-object-store.js'
import { listAll } from '../../../src/lake/object-store.js'

const dir = mkdtempSync(join(tmpdir(), 'starline-failures-'))
after(() => rmSync(dir, { recursive: true, force: true }))

describe('recordFailure', () => {
  it('writes an immutable record per failure and reads back the newest', async () => {
    const store = new FsObjectStore(pathToFileURL(join(dir, 'a')).href)
    await recordFailure(store, 'load', new StarlineError('first', { retryable: true }))
    await recordFailure(store, 'load', new StarlineError('second'))
    await recordFailure(store, 'extract', new Error('other stage'))
    assert.equal((await listAll(store, '_failures/load/')).length, 2)
    const last = await lastFailure(store, 'load')
    assert.deepEqual([last?.stage, last?.reason, last?.retryable, last?.error], ['load', 'second', false, 'StarlineError'])
  })

  it('keeps credentials and query strings of URLs out of the reason, and cuts it short', async () => {
    const store = new FsObjectStore(pathToFileURL(join(dir, 'b')).href)
    const record = await recordFailure(store, 'extract', new Error(`cannot reach postgres://u:hunter2@db:5432/x?password=hunter2 ${'x'.repeat(1000)}`))
    assert.match(record!.reason, /^cannot reach postgres:\/\/db:5432\/x x+…$/)
    assert.ok(record!.reason.length <= 400)
    assert.doesNotMatch(JSON.stringify(await lastFailure(store, 'extract')), /hunter2/)
  })
})
