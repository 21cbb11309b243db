/** Every hostile case, from the per-category tables. */
import type { HostileCase } from './hostile-case.js'
import { CONFIG_CASES } from './config-cases.js'
import { LAKE_CASES } from './lake-cases.js'
import { LEASE_CASES } from './lease-cases.js'
import { MANIFEST_CASES } from './manifest-cases.js'
import { SOURCE_VALUE_CASES } from './source-value-cases.js'

export const HOSTILE_CASES: readonly HostileCase[] = [...LAKE_CASES, ...MANIFEST_CASES, ...LEASE_CASES, ...SOURCE_VALUE_CASES, ...CONFIG_CASES]
