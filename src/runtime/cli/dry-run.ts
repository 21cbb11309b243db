/**
 * `--dry-run`: what extract, transform, load (or all three) would move, and
 * nothing written: no lake object, no lease, no warehouse table or ledger row.
 */
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { formatTable } from '../../observe/summary-text.js'
import type { StageContext } from '../../pipeline/context.js'
import { planExtract, planLoad, planTransform, type ExtractPlan, type RunsPlan } from '../../pipeline/plan.js'
import { extractOptions, loadOptions, openConfiguredWarehouse } from '../pipeline-setup.js'
import type { PipelineCommand } from './pipeline-commands.js'

export async function dryRun(
  command: PipelineCommand,
  config: StarlineConfig,
  ctx: StageContext,
  print: (text: string, summary: unknown) => void,
  flags: { readonly acceptSchemaChange: boolean } = { acceptSchemaChange: false },
): Promise<void> {
  // Settings first, so a missing one fails before any connection.
  if (command === 'extract' || command === 'run') requireSetting(config, 'sourceUrl')
  if (command === 'load' || command === 'run') requireSetting(config, 'warehouseUrl')
  const plans: (ExtractPlan | RunsPlan)[] = []
  if (command === 'extract' || command === 'run') plans.push(await planExtract(ctx, { ...extractOptions(config), acceptSchemaChange: flags.acceptSchemaChange }))
  if (command === 'transform' || command === 'run') plans.push(await planTransform(ctx))
  if (command === 'load' || command === 'run') {
    const warehouse = await openConfiguredWarehouse(config)
    try {
      plans.push(await planLoad(ctx, loadOptions(config, warehouse)))
    } finally {
      await warehouse.close()
    }
  }
  const summary = command === 'run' ? { dryRun: true, plans } : { dryRun: true, ...plans[0] }
  print([...plans.map(formatPlan), 'dry run: nothing was written'].join('\n'), summary)
}

function formatPlan(plan: ExtractPlan | RunsPlan): string {
  if (plan.stage === 'extract') {
    const lines = plan.window
      ? [
          `extract would copy ${plan.rows.toLocaleString('en-GB')} rows, last_updated ${plan.window.from === null ? '(all)' : `> ${plan.window.from}`} and <= ${plan.window.to}`,
          indent(formatTable(['table', 'rows'], plan.tables.map((t) => [t.table, t.rows]))),
        ]
      : ['extract would copy nothing: no changes in the source']
    for (const c of plan.schemaChanges) lines.push(`extract would record a schema change: "${c.table}"."${c.column}" ${c.kind}`)
    if (plan.reconcileDue) lines.push('extract would also reconcile the small tables by row hash (silent edits are not counted by a dry run)')
    if (plan.lateRowsDue) lines.push('extract would also check the large tables for late rows by id range summaries (late rows are not counted by a dry run)')
    return lines.join('\n')
  }
  if (plan.runs.length === 0) return `${plan.stage} would take no run: nothing pending`
  return [
    `${plan.stage} would take ${plan.runs.length} run${plan.runs.length === 1 ? '' : 's'}, ${plan.rows.toLocaleString('en-GB')} rows`,
    ...plan.runs.map((run) => `  run ${run.runId}: ${run.tables.map((t) => `${t.table} ${t.rows.toLocaleString('en-GB')}`).join(', ')}`),
  ].join('\n')
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}
