/**
 * The crash matrix's S3 variant, for a subset of the boundaries: the lake in
 * a moto_server bucket, `starline run` SIGKILLed at every n-th boundary of a
 * first run, rerun, and the bucket (mirrored to disk) and warehouse compared
 * with a clean run on S3. Incomplete multipart uploads a kill leaves are
 * counted (S3 lifecycle rules abort them; they are never visible objects).
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { CreateBucketCommand, GetObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3'
import { after, before, describe, it } from 'node:test'
import type { IntegrityReport } from '../support/integrity-report.js'
import { MOTO_MISSING, startMoto, useEnv, type MotoServer } from '../support/moto-server.js'
import { motoClient } from '../support/s3-test-client.js'
import { assertBuilt, runStarline } from './cli-child.js'
import { pipelineState, type PipelineState } from './crash-state.js'
import { CrashWorld, type CrashPipeline } from './crash-world.js'
import { killPlan } from './kill-plan.js'
import { assertClean, compare, killAt, matrixSettings } from './kill-matrix.js'

/** Every n-th boundary of the first run (moto is slower than a disk: a subset keeps CI in budget). */
const EVERY = Number(process.env.STARLINE_CRASH_S3_EVERY ?? 5)

export function describeS3KillMatrix(report: IntegrityReport): void {
  describe('starline run killed with the lake on S3 (moto_server), then run again', { skip: MOTO_MISSING }, () => {
    const settings = matrixSettings()
    let world: CrashWorld
    let moto: MotoServer
    let client: S3Client
    let buckets = 0
    let clean: PipelineState
    let danglingUploads = 0
    let restoreEnv: (() => void) | undefined
    const points: ReturnType<typeof killPlan> = []

    /** A pipeline whose lake zones are in a new bucket. */
    const s3Pipeline = async (): Promise<{ pipeline: CrashPipeline; bucket: string }> => {
      const bucket = `starline-crash-${process.pid}-${++buckets}`
      await client.send(new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: 'eu-west-2' } }))
      const pipeline = await world.pipeline(
        { sourceTemplate: 'day0' },
        {
          ...moto.env,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          STARLINE_INGESTION_URL: `s3://${bucket}/ingestion`,
          STARLINE_PROCESSED_URL: `s3://${bucket}/processed`,
        },
      )
      return { pipeline, bucket }
    }

    before(async () => {
      assertBuilt()
      // This process's own S3 client warns about Node 20 on stderr; the tests run on Node 20 on purpose.
      restoreEnv = useEnv({ AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' })
      world = await CrashWorld.start(settings.scale)
      moto = await startMoto()
      client = motoClient(moto)
      const { pipeline, bucket } = await s3Pipeline()
      const first = await runStarline(['run'], pipeline.env)
      assertClean(first, 'the clean run on S3')
      await mirror(client, bucket, pipeline.lakeDir)
      clean = await pipelineState(pipeline)
      await pipeline.dispose()
      const plan = killPlan({ first: first.events, incremental: [] }, { total: 0, seed: settings.seed, dayAfterEvery: Number.MAX_SAFE_INTEGER })
      points.push(...plan.filter((point, index) => index % EVERY === 0 && (settings.only?.test(`s3-${point.id}`) ?? true)))
    })

    after(async () => {
      client?.destroy()
      await moto?.stop()
      await world?.stop()
      restoreEnv?.()
      report.addCase({
        id: 's3-summary',
        category: 'process kill (S3 lake)',
        outcome: 'recovered',
        detail: `${points.length} boundary kills with the lake on moto_server; ${danglingUploads} incomplete multipart uploads left (invisible; aborted by the bucket's lifecycle rule)`,
      })
    })

    it('ends as the clean run on S3 does, killed at every n-th boundary of a first run', async () => {
      for (const point of points) {
        const { pipeline, bucket } = await s3Pipeline()
        try {
          if (!(await killAt(pipeline, point))) continue
          report.addKillPoint()
          assertClean(await runStarline(['run'], pipeline.env), `the rerun after the kill at ${point.id} (S3)`)
          danglingUploads += (await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads?.length ?? 0
          await mirror(client, bucket, pipeline.lakeDir)
          await compare(report, point, pipeline, clean, 'rerun on S3')
          report.addCase({
            id: `s3-${point.id}`,
            category: `kill in ${point.stage} (S3 lake)`,
            outcome: 'recovered',
            detail: `killed at "${point.label}" with the lake on S3; the rerun equals the clean run on S3`,
          })
        } finally {
          await pipeline.dispose()
        }
      }
    })
  })
}

/** Copies every object of `bucket` to `dir` (key = path), so the disk-walking comparison reads the bucket. */
async function mirror(client: S3Client, bucket: string, dir: string): Promise<void> {
  let token: string | undefined
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }))
    for (const object of page.Contents ?? []) {
      const body = await (await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key! }))).Body!.transformToByteArray()
      const path = join(dir, object.Key!)
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, body)
    }
    token = page.NextContinuationToken
  } while (token)
}
