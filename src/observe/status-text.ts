/** `starline status` for a person: two tables, what is pending, what failed. */
import type { PipelineStatus } from './status.js'
import { formatTable } from './summary-text.js'

export function formatStatus(status: PipelineStatus): string {
  const lines = [`status at ${status.at} (freshness target ${age(status.freshnessTargetMs)})`, '', 'source tables (lake manifests):']
  lines.push(
    indent(
      formatTable(
        ['table', 'watermark', 'last run', 'age', 'rows', 'rows moved', 'quarantined'],
        status.source.map((t) => [t.table, t.watermark ?? '-', t.lastRunId ?? '-', t.lastRunAgeMs === undefined ? '-' : age(t.lastRunAgeMs), t.lastRunRows, t.rowsMoved, t.quarantined]),
      ),
    ),
  )
  lines.push('', 'warehouse tables (load ledger):')
  if (status.warehouseError !== undefined) lines.push(`  cannot read the warehouse: ${status.warehouseError}`)
  else if (status.warehouse.length === 0) lines.push('  (no warehouse configured: set STARLINE_WAREHOUSE_URL)')
  else {
    lines.push(
      indent(
        formatTable(
          ['table', 'last run', 'age', 'rows', 'rows moved', 'held', 'held for', 'lag', 'fresh'],
          status.warehouse.map((t) => [
            t.table,
            t.lastRunId ?? '-',
            t.loadedAgeMs === undefined ? '-' : age(t.loadedAgeMs),
            t.lastRunRows,
            t.rowsMoved,
            t.held,
            t.held > 0 ? `${t.heldForRuns} loads` : '-',
            age(t.lagMs),
            t.fresh ? 'yes' : 'NO',
          ]),
        ),
      ),
    )
  }
  if (status.warehouse.length > 0 && !status.perTableLedger) lines.push('  (this warehouse engine does not report its ledger per table: rows and held rows are not shown)')
  lines.push('', `pending: ${plural(status.pending.transform.length, 'run')} to transform, ${plural(status.pending.load.length, 'run')} to load`)
  if (status.lastFailures.length === 0) lines.push('last failures: none recorded')
  else {
    lines.push('last failures:')
    for (const f of status.lastFailures) {
      const ago = age(Date.parse(status.at) - Date.parse(f.at))
      lines.push(`  ${f.stage} at ${f.at} (${ago} ago), ${f.error}${f.retryable ? ' (retryable)' : ''}: ${f.reason}`)
    }
  }
  for (const f of status.failing) lines.push(`failing now: ${f.stage} since ${f.since} (${age(Date.parse(status.at) - Date.parse(f.since))}), no success since`)
  lines.push(
    status.openIncidents.length === 0
      ? 'open incidents: none'
      : `open incidents: ${status.openIncidents.map((i) => `${i.incident} since ${i.since} (${i.title})`).join('; ')}`,
  )
  return lines.join('\n')
}

/** 45 s, 12 min, 3 h 5 min, 2 d 4 h. */
export function age(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 90) return `${s} s`
  const m = Math.round(s / 60)
  if (m < 90) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}
