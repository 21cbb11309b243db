/**
 * The integrity report's writer: the hostile-input suite and the crash matrix
 * each write one `<suite>.json` into `$STARLINE_REPORT_DIR` (default
 * `.starline/reports/` under the repository), and `scripts/integrity-report.mjs`
 * renders every such file into `docs/integrity-report.md`.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

/** How a case ended: the warehouse equals the source, the run refused cleanly, or a rerun converged after a refusal or fault. */
export const CASE_OUTCOMES = ['exact', 'refused', 'recovered'] as const
export type CaseOutcome = (typeof CASE_OUTCOMES)[number]

/** One case of a suite, as the report lists it. */
export interface ReportCase {
  readonly id: string
  readonly category: string
  readonly outcome: CaseOutcome
  /** One line: what the case did and what it proved. */
  readonly detail: string
}

/** A suite's whole report, as written to `<suite>.json`. */
export interface SuiteReport {
  readonly suite: 'hostile' | 'crash'
  readonly generatedAt: string
  readonly cases: readonly ReportCase[]
  readonly killPoints: number
  readonly faultsInjected: number
  readonly faultsSurvived: number
  readonly rowsLost: number
  readonly rowsDoubled: number
}

/** The folder reports go to: `$STARLINE_REPORT_DIR`, or `.starline/reports/` under the repository. */
export function reportDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STARLINE_REPORT_DIR ?? join(ROOT, '.starline', 'reports')
}

/**
 * Collects a suite's cases and counters while it runs; `write()` puts them in
 * `<dir>/<suite>.json`. Cases are kept in id order so two runs of the same
 * suite give the same file apart from `generatedAt`.
 */
export class IntegrityReport {
  readonly #suite: SuiteReport['suite']
  readonly #cases = new Map<string, ReportCase>()
  #killPoints = 0
  #faultsInjected = 0
  #faultsSurvived = 0
  #rowsLost = 0
  #rowsDoubled = 0

  constructor(suite: SuiteReport['suite']) {
    this.#suite = suite
  }

  /** Records one case's outcome (a case recorded twice keeps its last outcome). */
  addCase(entry: ReportCase): void {
    this.#cases.set(entry.id, entry)
  }

  /** Counts a process kill point the suite tried. */
  addKillPoint(count = 1): void {
    this.#killPoints += count
  }

  /** Counts an injected fault, and whether the pipeline survived it (converged with nothing lost or doubled). */
  addFault(survived: boolean): void {
    this.#faultsInjected += 1
    if (survived) this.#faultsSurvived += 1
  }

  /** Adds rows a comparison found missing or doubled (zero when the comparison passed). */
  addRows(lost: number, doubled: number): void {
    this.#rowsLost += lost
    this.#rowsDoubled += doubled
  }

  /** The report as it stands. */
  toJSON(): SuiteReport {
    return {
      suite: this.#suite,
      generatedAt: new Date().toISOString(),
      cases: [...this.#cases.values()].sort((a, b) => a.id.localeCompare(b.id)),
      killPoints: this.#killPoints,
      faultsInjected: this.#faultsInjected,
      faultsSurvived: this.#faultsSurvived,
      rowsLost: this.#rowsLost,
      rowsDoubled: this.#rowsDoubled,
    }
  }

  /** Writes `<dir>/<suite>.json` and returns its path. */
  write(dir: string = reportDir()): string {
    mkdirSync(dir, { recursive: true })
    const path = join(dir, `${this.#suite}.json`)
    writeFileSync(path, `${JSON.stringify(this.toJSON(), null, 2)}\n`)
    return path
  }
}
