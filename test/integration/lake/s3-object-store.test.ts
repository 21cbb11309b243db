import assert from 'node:assert/strict'
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { after, before, describe, it } from 'node:test'
import { S3ObjectStore } from '../../../src/lake/s3/s3-object-store.js'
import { MOTO_MISSING, startMoto, type MotoServer } from '../../support/moto-server.js'
import { motoClient, newBucket } from '../../support/s3-test-client.js'
import { describeObjectStore } from './object-store-contract.js'

let moto: MotoServer
let client: S3Client

if (MOTO_MISSING) {
  describe('S3ObjectStore', { skip: MOTO_MISSING }, () => {})
} else {
  before(async () => {
    moto = await startMoto()
    client = motoClient(moto)
  })

  after(async () => {
    client?.destroy()
    await moto?.stop()
  })

  describeObjectStore('S3ObjectStore', async () => {
    const bucket = await newBucket(client)
    // The zone sits under a prefix, with a neighbour, so a listing that escapes the prefix has something to find.
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lake/outside.txt', Body: 'not in the store' }))
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'lake/zone-other/x.csv', Body: 'not in the store' }))
    return { store: new S3ObjectStore(`s3://${bucket}/lake/zone`, { client }), cleanup: async () => {} }
  })
}
