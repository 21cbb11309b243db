/**
 * S3 clients and buckets on a test moto_server, made the way the lake makes
 * them (s3ClientConfig from the environment moto hands out).
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { s3ClientConfig } from '../../src/lake/s3/s3-config.js'
import type { MotoServer } from './moto-server.js'

let buckets = 0

/** A client for `moto`, with its test credentials given directly (not through process.env). */
export function motoClient(moto: MotoServer, overrides: Record<string, string> = {}): S3Client {
  const env = { ...moto.env, ...overrides }
  return new S3Client({
    ...s3ClientConfig(env),
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! },
  })
}

/** Creates a new, empty bucket with a unique name and returns the name. */
export async function newBucket(client: S3Client, stem = 'starline-test'): Promise<string> {
  const name = `${stem}-${process.pid}-${++buckets}`
  await client.send(new CreateBucketCommand({ Bucket: name, CreateBucketConfiguration: { LocationConstraint: await regionOf(client) } }))
  return name
}

async function regionOf(client: S3Client): Promise<'eu-west-2'> {
  return (await client.config.region()) as 'eu-west-2'
}
