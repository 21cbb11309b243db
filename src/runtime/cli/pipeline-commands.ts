/**
 * `starline extract | transform | load | run`: the stages, configured from
 * the environment, with a printed summary.
 */
import { requireSetting, type StarlineConfig } from '../../config/config.js'
import { createLogger } from '../../observe/logger.js'
import { formatExtract, formatLoad, formatRun, formatTransform } from '../../observe/summary-text.js'
import { extractOptions, loadOptions, openConfiguredWarehouse, stageContext } from '../pipeline-setup.js'

export async function pipelineCommand(
  command: 'extract' | 'transform' | 'load' | 'run',
  config: StarlineConfig,
  signal: AbortSignal,
  print: (text: string, summary: unknown) => void,
  flags: { readonly acceptSchemaChange: boolean },
): Promise<void> {
  const logger = createLogger({ level: config.logLevel })
  const ctx = stageContext(config, logger, { signal })
  if (command === 'extract') {
    const { extract } = await import('../../pipeline/extract.js')
    const summary = await extract(ctx, extractOptions(config, flags))
    return print(formatExtract(summary), summary)
  }
  if (command === 'transform') {
    const { transform } = await import('../../pipeline/transform.js')
    const summary = await transform(ctx)
    return print(formatTransform(summary), summary)
  }
  // Check every setting before doing any work.
  if (command === 'run') requireSetting(config, 'sourceUrl')
  const warehouse = await openConfiguredWarehouse(config)
  try {
    if (command === 'load') {
      const { load } = await import('../../pipeline/load.js')
      const summary = await load(ctx, loadOptions(config, warehouse))
      return print(formatLoad(summary), summary)
    }
    const { runCycle } = await import('../../pipeline/run.js')
    const summary = await runCycle(ctx, { extract: extractOptions(config, flags), load: loadOptions(config, warehouse) })
    return print(formatRun(summary), summary)
  } finally {
    await warehouse.close()
  }
}

