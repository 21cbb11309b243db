/**
 * The one small interface both Redshift connectors implement: over the
 * PostgreSQL wire protocol (`pg`) and through the Redshift Data API. The
 * warehouse writes SQL once, with named parameters (`:run_id`, the Data
 * API's own form), and never knows which connector runs it.
 */

/** Parameter values travel as text: the Data API takes only strings, and Redshift casts them by context. */
export type SqlParams = Readonly<Record<string, string | number>>

export interface Statement {
  readonly sql: string
  /** Values for the `:name` placeholders in `sql`. */
  readonly params?: SqlParams
}

/** Rows as text (NULL stays null): 64-bit values and decimals arrive exact whatever the connector. */
export type TextRow = Readonly<Record<string, string | null>>

export interface StatementResult {
  readonly rows: readonly TextRow[]
  /** Rows the statement changed or returned. */
  readonly rowCount: number
}

export interface RedshiftSession {
  /** Password-free description for messages (`redshift://user@host:5439/dev`). */
  readonly describe: string
  /** The most statements one transaction may hold (the Data API: 40 per batch); absent = no limit. */
  readonly maxTransactionStatements?: number
  /** Runs one statement on its own (auto-commit). */
  query(statement: Statement): Promise<StatementResult>
  /**
   * Runs the statements in order as one transaction: all commit, or none
   * (the wire: BEGIN ... COMMIT on one connection; the Data API: one
   * BatchExecuteStatement). Returns each statement's result.
   */
  transaction(statements: readonly Statement[]): Promise<readonly StatementResult[]>
  close(): Promise<void>
}

/**
 * The `:name` placeholders of `sql` in order of appearance, skipping string
 * literals ('arn:aws:iam::1:role/x'), quoted identifiers and `::` casts.
 */
export function placeholders(sql: string): { readonly name: string; readonly start: number; readonly end: number }[] {
  const found: { name: string; start: number; end: number }[] = []
  let i = 0
  while (i < sql.length) {
    const ch = sql[i]!
    if (ch === "'" || ch === '"') {
      // A doubled quote inside stays inside: scan to the closing quote not followed by another.
      let j = i + 1
      while (j < sql.length) {
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) j += 2
          else break
        } else j++
      }
      i = j + 1
    } else if (ch === ':' && sql[i + 1] === ':') {
      i += 2
    } else if (ch === ':' && /[a-z_]/i.test(sql[i + 1] ?? '')) {
      const match = /^[a-z_][a-z0-9_]*/i.exec(sql.slice(i + 1))!
      found.push({ name: match[0], start: i, end: i + 1 + match[0].length })
      i += 1 + match[0].length
    } else i++
  }
  return found
}

/** Named placeholders -> PostgreSQL's `$1, $2...` with the values in order (a name used twice binds once). */
export function toPositional(statement: Statement): { readonly text: string; readonly values: string[] } {
  const names: string[] = []
  let text = ''
  let last = 0
  for (const p of placeholders(statement.sql)) {
    const value = statement.params?.[p.name]
    if (value === undefined) throw new Error(`SQL parameter :${p.name} has no value`)
    let index = names.indexOf(p.name)
    if (index < 0) index = names.push(p.name) - 1
    text += `${statement.sql.slice(last, p.start)}$${index + 1}`
    last = p.end
  }
  text += statement.sql.slice(last)
  return { text, values: names.map((n) => String(statement.params![n])) }
}
