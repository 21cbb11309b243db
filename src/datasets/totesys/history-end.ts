/**
 * History ends at the start of a Tuesday at least a week ago: the simulated
 * day is then a Tuesday, a trading day, and still in the past, so the
 * extract's window (which never runs ahead of the source's clock) takes it.
 */
export function historyEndBeforeTradingDay(now: Date): Date {
  const day = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 7))
  const back = (day.getUTCDay() - 2 + 7) % 7
  return new Date(day.getTime() - back * 86_400_000)
}
