/** Every hostile case, from the per-category tables. */
import type { HostileCase } from './hostile-case.js'
import { LAKE_CASES } from './lake-cases.js'

export const HOSTILE_CASES: readonly HostileCase[] = [...LAKE_CASES]
