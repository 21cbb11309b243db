/**
 * Short plain-text summaries of stage results for a terminal: rows per table
 * per stage, and time.
 */
import type { ExtractSummary, LoadSummary, RunSummary, TransformSummary } from '../schema/summaries.js'
import { describeChange } from '../schema/schema-change.js'

export function formatTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? c.toLocaleString('en-GB') : c)))]
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)))
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'))
  const line = (r: readonly (string | number)[]) =>
    r.map((c, i) => (numeric[i] ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join('  ').trimEnd()
  return [line(cells[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n')
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`
}

export function formatExtract(summary: ExtractSummary): string {
  const lines: string[] = []
  if (summary.recoveredRunId) lines.push(`extract: removed the leftovers of unfinished run ${summary.recoveredRunId}`)
  if (summary.runId === undefined) {
    lines.push(`extract: no changes in the source (${seconds(summary.durationMs)})`)
  } else {
    const window = summary.window!
    lines.push(
      `extract: run ${summary.runId}, ${summary.rows.toLocaleString('en-GB')} rows, last_updated ${window.from === null ? '(all)' : `> ${window.from}`} and <= ${window.to} (${seconds(summary.durationMs)})`,
    )
    lines.push(indent(formatTable(['table', 'rows', 'bytes'], summary.tables.map((t) => [t.table, t.rows, t.bytes]))))
  }
  for (const change of summary.schemaChanges) lines.push(`extract: schema change: ${describeChange(change)}`)
  for (const table of summary.reconciled ?? []) {
    if (table.silentEdits > 0 || table.deleted > 0) {
      lines.push(`extract: reconciliation of "${table.table}": ${table.silentEdits} rows changed without last_updated moving (re-extracted), ${table.deleted} rows deleted in the source (not propagated)`)
    }
  }
  for (const table of summary.lateRows ?? []) {
    if (table.lateRows > 0) {
      lines.push(`extract: late rows in "${table.table}": ${table.lateRows} rows appeared behind last_updated (late commits or back-dated stamps; extracted now)`)
    }
    if (table.unconfirmed > 0) {
      lines.push(
        `extract: WARNING ${table.unconfirmed} "${table.table}" rows may have appeared behind last_updated but could not be confirmed (the source has used more than 2^32 transaction ids, and rows also left their id ranges); they were not extracted`,
      )
    }
  }
  if (summary.lateRows) {
    const read = summary.lateRows.reduce((sum, t) => sum + t.rowsRead, 0)
    const changed = summary.lateRows.reduce((sum, t) => sum + t.changedRanges, 0)
    lines.push(`extract: checked ${summary.lateRows.length} large tables for late rows by id range summaries (${changed} ranges changed, ${read} rows read)`)
  }
  if (summary.reconciled) lines.push(`extract: reconciled ${summary.reconciled.length} tables by row hash`)
  if (!summary.seesAllSessions) {
    lines.push("extract: WARNING the source user cannot see other users' open transactions; grant it pg_read_all_stats so late commits cannot be missed")
  }
  for (const { table, rows } of summary.stampedInFuture ?? []) {
    lines.push(`extract: WARNING ${rows} "${table}" rows have last_updated later than the source's clock (or infinity); they are not extracted until that time comes`)
  }
  if (summary.heldBackByTransactionMs !== undefined) {
    lines.push(`extract: an open source transaction (${seconds(summary.heldBackByTransactionMs)} old) held the window back`)
  }
  return lines.join('\n')
}

export function formatTransform(summary: TransformSummary): string {
  if (summary.runs.length === 0) return `transform: nothing to transform (${seconds(summary.durationMs)})`
  return summary.runs
    .map(
      (run) =>
        `transform: run ${run.runId}, ${run.rows.toLocaleString('en-GB')} rows (${seconds(run.durationMs)})\n` +
        indent(formatTable(['table', 'rows'], run.tables.map((t) => [t.table, t.rows]))) +
        run.quarantined.map((q) => `\ntransform: ${q.rows} "${q.table}" rows failed validation, quarantined in ${q.key}`).join(''),
    )
    .join('\n')
}

export function formatLoad(summary: LoadSummary): string {
  if (summary.runs.length === 0) return `load: nothing to load (${seconds(summary.durationMs)})`
  return summary.runs
    .map(
      (run) =>
        `load: run ${run.runId}, ${run.rows.toLocaleString('en-GB')} rows (${seconds(run.durationMs)})\n` +
        indent(formatTable(['table', 'rows', 'inserted', 'updated', 'held'], run.tables.map((t) => [t.table, t.rows, t.inserted, t.updated, t.held]))) +
        run.tables
          .filter((t) => (t.alreadyHeld ?? 0) > 0)
          .map((t) => `\nload: ${t.alreadyHeld} late "${t.table}" rows were versions the warehouse already holds (rewritten in the source without a new stamp, or re-read by the late-row check as possibly late); skipped`)
          .join(''),
    )
    .join('\n')
}

export function formatRun(summary: RunSummary): string {
  return [formatExtract(summary.extract), formatTransform(summary.transform), formatLoad(summary.load), `cycle: ${seconds(summary.durationMs)}`].join('\n')
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}
