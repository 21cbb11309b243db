import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { after, afterEach, before, describe, it } from 'node:test'
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { LakeError, ObjectExistsError } from '../../../src/lake/errors.js'
import { listAll } from '../../../src/lake/object-store.js'
import { ConditionalWritesUnsupportedError } from '../../../src/lake/s3/s3-conditional-writes.js'
import { S3ObjectStore, type S3ObjectStoreOptions } from '../../../src/lake/s3/s3-object-store.js'
import { s3Error, startFakeS3, type FakeS3 } from '../../support/fake-s3-server.js'
import { MOTO_MISSING, startMoto, type MotoServer } from '../../support/moto-server.js'
import { motoClient, newBucket } from '../../support/s3-test-client.js'
import { describeObjectStore } from './object-store-contract.js'

let moto: MotoServer
let client: S3Client

before(async () => {
  if (MOTO_MISSING) return
  moto = await startMoto()
  client = motoClient(moto)
})

after(async () => {
  client?.destroy()
  await moto?.stop()
})

if (MOTO_MISSING) {
  describe('S3ObjectStore', { skip: MOTO_MISSING }, () => {})
} else {
  describeObjectStore('S3ObjectStore', async () => {
    const bucket = await newBucket(client)
    // The zone sits under a prefix, with a neighbour, so a listing that escapes the prefix has something to find.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lake/outside.txt', Body: 'not in the store' }))
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lake/zone-other/x.csv', Body: 'not in the store' }))
    return { store: new S3ObjectStore(`s3://${bucket}/lake/zone`, { client }), cleanup: async () => {} }
  })
}

/** A body of `size` random bytes, streamed in uneven chunks. */
function randomStream(bytes: Buffer): Readable {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; offset += 700_001) chunks.push(bytes.subarray(offset, offset + 700_001))
  return Readable.from(chunks)
}

describe('S3ObjectStore on moto', { skip: MOTO_MISSING }, () => {
  let bucket: string
  let zone = 0
  const newStore = (options: S3ObjectStoreOptions = {}) => new S3ObjectStore(`s3://${bucket}/zone-${++zone}`, { client, ...options })

  before(async () => {
    bucket = await newBucket(client, 'starline-s3')
  })

  it('uploads a body larger than one part in several parts, byte for byte', async () => {
    const store = newStore({ partSizeBytes: 5 * 1024 * 1024 })
    const bytes = randomBytes(11 * 1024 * 1024 + 3)
    const info = await store.put('big/parts.bin', randomStream(bytes))
    assert.equal(info.size, bytes.length)
    assert.equal(info.sha256, createHash('sha256').update(bytes).digest('hex'))
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: `zone-${zone}/big/parts.bin` }))
    // A multipart object's ETag ends with its part count.
    assert.match(head.ETag ?? '', /-3"$/)
    assert.ok((await store.getBytes('big/parts.bin')).equals(bytes))
  })

  it('refuses a multipart upload to an existing key, keeps the original and leaves no parts behind', async () => {
    const store = newStore({ partSizeBytes: 5 * 1024 * 1024 })
    await store.put('big/taken.bin', 'original')
    await assert.rejects(store.put('big/taken.bin', randomStream(randomBytes(11 * 1024 * 1024))), ObjectExistsError)
    assert.equal((await store.getBytes('big/taken.bin')).toString('utf8'), 'original')
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `zone-${zone}/` }))
    assert.deepEqual(uploads.Uploads ?? [], [])
  })

  it('keeps keys with spaces and unicode verbatim in the bucket', async () => {
    const store = newStore()
    const key = 'with space/ünï 表/🙂 a+b%20c.csv'
    await store.put(key, 'x')
    const raw = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `zone-${zone}/` }))
    assert.deepEqual((raw.Contents ?? []).map((o) => o.Key), [`zone-${zone}/${key}`])
    assert.deepEqual((await listAll(store, 'with space/')).map((o) => o.key), [key])
    assert.equal((await store.getBytes(key)).toString('utf8'), 'x')
  })

  it('lists past 1000 keys, in key order, page after page', async () => {
    const store = newStore()
    const keys = Array.from({ length: 1005 }, (_, i) => `many/${String((i * 7919) % 1005).padStart(5, '0')}.csv`)
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((key) => store.put(key, key)))
    const listed = (await listAll(store, 'many/')).map((o) => o.key)
    assert.equal(listed.length, 1005)
    assert.deepEqual(listed, [...keys].sort())
  })

  it('removes its conditional-write probe and never lists probes', async () => {
    const store = newStore()
    await store.put('a.csv', 'a')
    const raw = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `zone-${zone}/` }))
    assert.deepEqual((raw.Contents ?? []).map((o) => o.Key), [`zone-${zone}/a.csv`])
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: `zone-${zone}/_probe/left-by-a-kill`, Body: 'x' }))
    assert.deepEqual((await listAll(store, '')).map((o) => o.key), ['a.csv'])
  })

  it('fails with a terminal error naming a missing bucket and the setting to fix', async () => {
    const store = new S3ObjectStore('s3://starline-no-such-bucket/zone', { client })
    for (const attempt of [() => listAll(store, ''), () => store.put('a.csv', 'a')]) {
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(error instanceof LakeError)
        assert.equal(error.retryable, false)
        assert.match(error.message, /"starline-no-such-bucket" does not exist/)
        assert.match(error.message, /STARLINE_INGESTION_URL/)
        return true
      })
    }
  })
})

describe('S3ObjectStore against a broken server', () => {
  let fake: FakeS3 | undefined

  afterEach(async () => {
    await fake?.close()
    fake = undefined
  })

  it('refuses a server that ignores conditional writes before writing any object', async () => {
    // Accepts every PUT, conditions or not: the server the probe exists to catch.
    fake = await startFakeS3((request, response) => {
      response.writeHead(request.method === 'DELETE' ? 204 : 200, { etag: '"5d41402abc4b2a76b9719d911017c592"' })
      response.end()
    })
    const store = new S3ObjectStore('s3://careless-bucket/lake', { client: fake.client() })
    await assert.rejects(store.put('sales_order/run.csv', 'data'), (error: unknown) => {
      assert.ok(error instanceof ConditionalWritesUnsupportedError)
      assert.equal(error.retryable, false)
      assert.match(error.message, /s3:\/\/careless-bucket\/lake/)
      assert.match(error.message, /If-None-Match/)
      return true
    })
    const puts = fake.requests.filter((r) => r.method === 'PUT')
    assert.ok(puts.length >= 2, 'the probe wrote twice')
    assert.ok(puts.every((r) => r.path.startsWith('/careless-bucket/lake/_probe/')), `puts: ${puts.map((r) => r.path).join(', ')}`)
    // The verdict is kept: a second store on the bucket is refused without probing again.
    const before = fake.requests.length
    await assert.rejects(new S3ObjectStore('s3://careless-bucket/lake', { client: fake.client() }).put('x.csv', 'x'), ConditionalWritesUnsupportedError)
    assert.equal(fake.requests.length, before)
  })

  it('retries a throttled request with backoff, then fails with a retryable error naming the key', async () => {
    fake = await startFakeS3((_request, response) => s3Error(response, 503, 'SlowDown', 'Please reduce your request rate.'))
    const store = new S3ObjectStore('s3://busy-bucket/lake', { client: fake.client(3) })
    await assert.rejects(store.getBytes('_manifests/run.json'), (error: unknown) => {
      assert.ok(error instanceof LakeError)
      assert.equal(error.retryable, true)
      assert.match(error.message, /"_manifests\/run\.json"/)
      assert.match(error.message, /SlowDown/)
      return true
    })
    assert.equal(fake.requests.length, 3, 'one attempt and two retries')
  })

  it('retries a dropped connection and succeeds once the server answers', async () => {
    fake = await startFakeS3((_request, response, index) => {
      if (index < 2) return void response.socket?.destroy()
      response.writeHead(200, { 'content-type': 'application/octet-stream', etag: '"x"' })
      response.end('survived')
    })
    const store = new S3ObjectStore('s3://flaky-bucket/lake', { client: fake.client(3) })
    assert.equal((await store.getBytes('a.csv')).toString('utf8'), 'survived')
    assert.equal(fake.requests.length, 3)
  })

  it('fails access denied at once with a terminal error naming bucket, key and the credentials to check', async () => {
    fake = await startFakeS3((_request, response) => s3Error(response, 403, 'AccessDenied', 'Access Denied'))
    const store = new S3ObjectStore('s3://locked-bucket/lake', { client: fake.client(3) })
    await assert.rejects(store.getBytes('dim_staff/x.parquet'), (error: unknown) => {
      assert.ok(error instanceof LakeError)
      assert.equal(error.retryable, false)
      assert.match(error.message, /"dim_staff\/x\.parquet" in s3:\/\/locked-bucket\/lake/)
      assert.match(error.message, /"locked-bucket"/)
      assert.match(error.message, /AWS_ACCESS_KEY_ID/)
      return true
    })
    assert.equal(fake.requests.length, 1, 'a denial is not retried')
  })
})
