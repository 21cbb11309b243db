/** Every hostile case, from the per-category tables. */
import { CONFIG_CASES } from './config-cases.js'
import { FAULT_CASES } from './fault-cases.js'
import type { HostileCase } from './hostile-case.js'
import { HISTORY_CASES } from './history-cases.js'
import { LAKE_CASES } from './lake-cases.js'
import { LEASE_CASES } from './lease-cases.js'
import { MANIFEST_CASES } from './manifest-cases.js'
import { SCHEMA_CASES } from './schema-cases.js'
import { SOURCE_VALUE_CASES } from './source-value-cases.js'
import { TIME_ZONE_CASES } from './time-zone-cases.js'
import { WAREHOUSE_CASES } from './warehouse-cases.js'

export const HOSTILE_CASES: readonly HostileCase[] = [
  ...LAKE_CASES,
  ...MANIFEST_CASES,
  ...HISTORY_CASES,
  ...LEASE_CASES,
  ...SOURCE_VALUE_CASES,
  ...SCHEMA_CASES,
  ...CONFIG_CASES,
  ...WAREHOUSE_CASES,
  ...TIME_ZONE_CASES,
  ...FAULT_CASES,
]
