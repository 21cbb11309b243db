import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { historyEndBeforeTradingDay } from '../../../src/datasets/totesys/history-end.js'

describe('historyEndBeforeTradingDay', () => {
  it('is midnight UTC of a Tuesday at least seven days before now, for every weekday', () => {
    for (let offset = 0; offset < 14; offset++) {
      const now = new Date(Date.UTC(2026, 10, 22 + offset, 15, 30))
      const end = historyEndBeforeTradingDay(now)
      assert.equal(end.getUTCDay(), 2, `${now.toISOString()} -> ${end.toISOString()}`)
      assert.equal(end.getTime() % 86_400_000, 0)
      const daysBefore = (now.getTime() - end.getTime()) / 86_400_000
      assert.ok(daysBefore >= 7 && daysBefore < 15, `${daysBefore} days before`)
    }
  })
})
