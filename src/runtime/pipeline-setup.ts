/**
 * Turns a validated configuration into what the stages take: stores, a
 * warehouse, options. The CLI and (later) the Lambda handlers both use it,
 * so the stages never see where they run.
 */
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { loadConfig, requireSetting, type StarlineConfig } from '../config/config.js'
import type { Dataset } from '../schema/dataset.js'
import { TOTESYS } from '../datasets/totesys/totesys-dataset.js'
import { openObjectStore } from '../lake/open-object-store.js'
import type { Logger } from '../observe/logger.js'
import type { Progress } from '../observe/progress.js'
import type { StageContext } from '../pipeline/context.js'
import type { ExtractOptions } from '../pipeline/extract.js'
import type { LoadOptions } from '../pipeline/load.js'
import { openSource } from '../source/open-source.js'
import { openWarehouse } from '../warehouse/open-warehouse.js'
import type { Warehouse } from '../warehouse/warehouse.js'

export function stageContext(
  config: StarlineConfig,
  logger: Logger,
  options: { readonly signal?: AbortSignal; readonly dataset?: Dataset; readonly progress?: Progress } = {},
): StageContext {
  return {
    dataset: options.dataset ?? TOTESYS,
    ingestion: openObjectStore(config.ingestionUrl),
    processed: openObjectStore(config.processedUrl),
    logger,
    scratchDir: config.scratchDir,
    leaseTtlMs: config.leaseTtlMs,
    duckdbMemory: config.duckdbMemory,
    retry: { retries: config.retries },
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.progress ? { progress: options.progress } : {}),
  }
}

/**
 * Configuration for a pipeline on this machine: given databases, and a lake
 * in `lakeDir` (ingestion/ and processed/). Used by the demo and the tests.
 */
export function localConfig(
  urls: { readonly sourceUrl: string; readonly warehouseUrl: string },
  lakeDir: string,
  env: Readonly<Record<string, string>> = {},
): StarlineConfig {
  return loadConfig({
    env: {
      STARLINE_SOURCE_URL: urls.sourceUrl,
      STARLINE_WAREHOUSE_URL: urls.warehouseUrl,
      STARLINE_INGESTION_URL: pathToFileURL(join(lakeDir, 'ingestion')).href,
      STARLINE_PROCESSED_URL: pathToFileURL(join(lakeDir, 'processed')).href,
      ...env,
    },
  })
}

export function extractOptions(config: StarlineConfig, flags: { readonly acceptSchemaChange?: boolean } = {}): ExtractOptions {
  return {
    source: openSource(requireSetting(config, 'sourceUrl'), {
      schema: config.sourceSchema,
      setting: 'STARLINE_SOURCE_URL',
      ...(config.sourceTimeZone ? { timeZone: config.sourceTimeZone } : {}),
    }),
    lagMs: config.extractLagMs,
    ...(config.reconcileIntervalMs === undefined ? {} : { reconcileIntervalMs: config.reconcileIntervalMs }),
    ...(config.lateRowsIntervalMs === undefined ? {} : { lateRowsIntervalMs: config.lateRowsIntervalMs }),
    ...(flags.acceptSchemaChange ? { acceptSchemaChange: true } : {}),
  }
}

/** The caller closes the warehouse when done. */
export function openConfiguredWarehouse(config: StarlineConfig): Promise<Warehouse> {
  return openWarehouse(requireSetting(config, 'warehouseUrl'), {
    setting: 'STARLINE_WAREHOUSE_URL',
    scratchDir: config.scratchDir,
    duckdbMemory: config.duckdbMemory,
    warehouseDuckdbMemory: config.warehouseDuckdbMemory,
    ...(config.redshiftIamRole ? { redshiftIamRole: config.redshiftIamRole } : {}),
  })
}

export function loadOptions(config: StarlineConfig, warehouse: Warehouse): LoadOptions {
  return { warehouse, schema: config.warehouseSchema }
}
