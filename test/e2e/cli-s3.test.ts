/**
 * The `starline` command with its lake on S3 (moto_server): a misconfigured
 * lake fails with one line naming what to fix, before touching the source.
 */
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { runCli } from '../support/cli-process.js'
import { MOTO_MISSING, startMoto, type MotoServer } from '../support/moto-server.js'

// Nothing listens on port 1: the source is never reached in these tests.
const UNREACHABLE = 'postgres://starline@127.0.0.1:1/totesys'
let moto: MotoServer | undefined

before(async () => {
  if (!MOTO_MISSING) moto = await startMoto()
})

after(async () => {
  await moto?.stop()
})

function oneLine(stderr: string): string {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, `one line: ${stderr}`)
  return lines[0]!
}

describe('starline with an S3 lake', { skip: MOTO_MISSING }, () => {
  const env = () => ({
    ...moto!.env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    STARLINE_SOURCE_URL: UNREACHABLE,
    STARLINE_PROCESSED_URL: 's3://starline-missing-bucket/processed',
  })

  it('fails on a missing bucket with one line naming the bucket and the setting', async () => {
    const result = await runCli(['extract'], { ...env(), STARLINE_INGESTION_URL: 's3://starline-missing-bucket/ingestion' })
    assert.equal(result.code, 1, result.stderr)
    const line = oneLine(result.stderr)
    assert.match(line, /"starline-missing-bucket" does not exist/)
    assert.match(line, /STARLINE_INGESTION_URL/)
  })

  it('rejects an invalid bucket name as bad configuration (exit 2), naming the setting', async () => {
    const result = await runCli(['extract'], { ...env(), STARLINE_INGESTION_URL: 's3://Not_A_Bucket/ingestion' })
    assert.equal(result.code, 2, result.stderr)
    const line = oneLine(result.stderr)
    assert.match(line, /STARLINE_INGESTION_URL/)
    assert.match(line, /Not_A_Bucket/)
  })
})
