import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createLogger } from '../../../../src/observe/logger.js'
import { decodeS3Key, parseManifestEvent, parseScheduledEvent, zoneLocation } from '../../../../src/runtime/lambda/lambda-events.js'
import { encodeS3Key, s3Event, scheduledEvent } from '../../../support/lambda-events.js'

function recordingLogger(): { logger: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { lines, logger: createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }) }
}

describe('parseScheduledEvent', () => {
  it('accepts an EventBridge scheduled event and a manual empty invocation', () => {
    const event = scheduledEvent(new Date('2026-12-03T07:30:00Z'))
    assert.deepEqual(parseScheduledEvent(event), { manual: false, time: '2026-12-03T07:30:00Z' })
    assert.deepEqual(parseScheduledEvent({}), { manual: true })
  })

  it('refuses any other event with a message saying what it expects', () => {
    assert.throws(() => parseScheduledEvent(s3Event([{ bucket: 'b', key: 'k' }])), /expects an EventBridge scheduled event .* got an object with keys "Records"/)
    assert.throws(() => parseScheduledEvent('tick'), /got string/)
  })
})

describe('decodeS3Key', () => {
  it('decodes URL encoding with + for a space, as S3 writes keys into events', () => {
    assert.equal(decodeS3Key('my+lake/_manifests/20261203T073000000Z.json'), 'my lake/_manifests/20261203T073000000Z.json')
    assert.equal(decodeS3Key('caf%C3%A9/a%2Bb%28c%29.json'), 'café/a+b(c).json')
    const key = 'zone 1/ünïcode + plus/_manifests/x.json'
    assert.equal(decodeS3Key(encodeS3Key(key)), key)
  })
})

describe('zoneLocation', () => {
  it('splits an s3:// zone into bucket and key prefix; a file: zone has no bucket', () => {
    assert.deepEqual(zoneLocation('s3://lake-ingestion'), { bucket: 'lake-ingestion', prefix: '' })
    assert.deepEqual(zoneLocation('s3://lake/prod/ingestion/'), { bucket: 'lake', prefix: 'prod/ingestion/' })
    assert.deepEqual(zoneLocation('file:///data/lake/ingestion'), { prefix: '' })
  })
})

describe('parseManifestEvent', () => {
  const zone = { bucket: 'lake', prefix: 'my zone/' }

  it('returns the run ids of every manifest record, sorted, each once', () => {
    const { logger, lines } = recordingLogger()
    const event = s3Event([
      { bucket: 'lake', key: 'my zone/_manifests/20261203T080000000Z.json' },
      { bucket: 'lake', key: 'my zone/_manifests/20261203T073000000Z.json', eventName: 'ObjectCreated:CompleteMultipartUpload' },
      { bucket: 'lake', key: 'my zone/_manifests/20261203T080000000Z.json' },
    ])
    assert.deepEqual(parseManifestEvent(event, zone, logger), { runIds: ['20261203T073000000Z', '20261203T080000000Z'], ignored: 0 })
    assert.deepEqual(lines, [])
  })

  it('ignores, with a warning each, records that are not manifests of this zone', () => {
    const { logger, lines } = recordingLogger()
    const event = s3Event([
      { bucket: 'lake', key: 'my zone/sales_order/2026/12/03/20261203T073000000Z.csv' },
      { bucket: 'other', key: 'my zone/_manifests/20261203T073000000Z.json' },
      { bucket: 'lake', key: 'elsewhere/_manifests/20261203T073000000Z.json' },
      { bucket: 'lake', key: 'my zone/_manifests/20261203T073000000Z.json', eventName: 'ObjectRemoved:Delete' },
      { bucket: 'lake', key: 'my zone/_manifests/notes.json' },
    ])
    const parsed = parseManifestEvent({ Records: [...(event.Records as unknown[]), { eventSource: 'aws:sqs' }] }, zone, logger)
    assert.deepEqual(parsed, { runIds: [], ignored: 6 })
    assert.deepEqual(
      lines.map((l) => [l.level, l.reason]),
      [
        ['warn', 'not a run manifest'],
        ['warn', "another bucket than the zone's"],
        ['warn', "outside the zone's prefix"],
        ['warn', 'not an ObjectCreated event'],
        ['warn', 'not a run manifest'],
        ['warn', 'not an S3 event record'],
      ],
    )
    assert.equal(lines[0]!.key, 'my zone/sales_order/2026/12/03/20261203T073000000Z.csv', 'the log names the decoded key')
  })

  it('refuses an event without Records', () => {
    const { logger } = recordingLogger()
    assert.throws(() => parseManifestEvent(scheduledEvent(), zone, logger), /Expected an S3 event notification with "Records"/)
  })
})
