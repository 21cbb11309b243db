import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ageSeconds, emfDocument, writeMetrics } from '../../../src/observe/metrics.js'

describe('emfDocument', () => {
  it('declares namespace Starline, dimension Function and each metric with its unit, beside its value', () => {
    const doc = emfDocument({
      function: 'loader',
      values: { RowsMoved: 120, RunDuration: 3456, WatermarkAge: 61 },
      properties: { runIds: ['20261203T073000000Z'] },
      timestamp: new Date('2026-12-03T07:30:00Z'),
    })
    assert.deepEqual(doc, {
      runIds: ['20261203T073000000Z'],
      _aws: {
        Timestamp: Date.parse('2026-12-03T07:30:00Z'),
        CloudWatchMetrics: [
          {
            Namespace: 'Starline',
            Dimensions: [['Function']],
            Metrics: [
              { Name: 'RowsMoved', Unit: 'Count' },
              { Name: 'RunDuration', Unit: 'Milliseconds' },
              { Name: 'WatermarkAge', Unit: 'Seconds' },
            ],
          },
        ],
      },
      Function: 'loader',
      RowsMoved: 120,
      RunDuration: 3456,
      WatermarkAge: 61,
    })
  })

  it('leaves out a metric without a value rather than declaring it empty', () => {
    const doc = emfDocument({ function: 'ingestion', values: { RowsMoved: 0, RunDuration: 10, WatermarkAge: undefined } })
    const metrics = (doc._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!.Metrics
    assert.deepEqual(metrics.map((m) => m.Name), ['RowsMoved', 'RunDuration'])
    assert.equal('WatermarkAge' in doc, false)
    assert.equal(doc.RowsMoved, 0)
  })

  it('is written as one JSON line', () => {
    const lines: string[] = []
    writeMetrics({ function: 'transform', values: { RowsMoved: 1 } }, (line) => lines.push(line))
    assert.equal(lines.length, 1)
    assert.ok(lines[0]!.endsWith('}\n') && !lines[0]!.slice(0, -1).includes('\n'))
  })
})

describe('ageSeconds', () => {
  const now = new Date('2026-12-03T07:30:00Z')

  it('reads a zoneless source watermark as UTC', () => {
    assert.equal(ageSeconds('2026-12-03 07:29:00.500', now), 60)
    assert.equal(ageSeconds('2026-12-03T07:00:00Z', now), 1800)
    assert.equal(ageSeconds('2026-12-03T08:00:00+01:00', now), 1800)
  })

  it('is undefined for no watermark or a value that is not a time, and never negative', () => {
    assert.equal(ageSeconds(undefined, now), undefined)
    assert.equal(ageSeconds(null, now), undefined)
    assert.equal(ageSeconds('yesterday', now), undefined)
    assert.equal(ageSeconds('2026-12-03 07:31:00', now), 0)
  })
})
