/**
 * A model's inputs, read from its SQL: the relations it names among those a
 * run offers (source tables, their `current_` views, earlier models). The
 * SQL is the one declaration of a model's dependencies, as in dbt, where
 * `ref()` in the model is the whole story.
 */

/** SQL without its comments, so a word in a comment is never taken for an input. */
function withoutComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, ' ').replace(/\/\*[\s\S]*?\*\//g, ' ')
}

/** The names in `candidates` that `sql` reads (as whole identifiers, quoted or not). */
export function relationsReadBy(sql: string, candidates: Iterable<string>): Set<string> {
  const words = new Set(withoutComments(sql).match(/"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*/g)?.map((w) => (w.startsWith('"') ? w.slice(1, -1).replaceAll('""', '"') : w.toLowerCase())) ?? [])
  const read = new Set<string>()
  for (const name of candidates) if (words.has(name) || words.has(name.toLowerCase())) read.add(name)
  return read
}

/**
 * What makes a model run: the source tables it reads (directly or through
 * their `current_` view) and the earlier models it reads. A model none of
 * whose inputs changed in a run writes nothing.
 */
export function modelTriggers(sql: string, sourceTables: readonly string[], earlierModels: readonly string[]): string[] {
  const read = relationsReadBy(sql, [...sourceTables, ...sourceTables.map((t) => `current_${t}`), ...earlierModels])
  return [...new Set([...read].map((name) => (name.startsWith('current_') && sourceTables.includes(name.slice(8)) ? name.slice(8) : name)))]
}
