/**
 * Schema drift: the source's columns compared with those the lake last
 * recorded, before any data moves. A new column is carried along (models
 * select their columns by name, so it changes nothing downstream); a
 * removed or retyped column stops the run, because models and the
 * warehouse depend on it.
 */
import type { ManifestColumn } from '../lake/manifest.js'
import { describeChange, type SchemaChange } from '../schema/schema-change.js'
import { SourceError } from './errors.js'

export class SchemaDriftError extends SourceError {}

export function compareSchemas(
  previous: Readonly<Record<string, readonly ManifestColumn[]>>,
  current: ReadonlyMap<string, readonly ManifestColumn[]>,
): SchemaChange[] {
  const changes: SchemaChange[] = []
  for (const [table, columns] of current) {
    const before = previous[table]
    if (before === undefined) continue // first time the lake sees this table
    const beforeByName = new Map(before.map((c) => [c.name, c]))
    const nowByName = new Map(columns.map((c) => [c.name, c]))
    for (const column of columns) {
      const old = beforeByName.get(column.name)
      if (!old) changes.push({ table, column: column.name, kind: 'added', to: column.type })
      else if (old.type !== column.type) changes.push({ table, column: column.name, kind: 'retyped', from: old.type, to: column.type })
    }
    for (const column of before) {
      if (!nowByName.has(column.name)) changes.push({ table, column: column.name, kind: 'removed', from: column.type })
    }
  }
  return changes
}

/** Changes a run cannot carry on through: anything but an added column. */
export function breakingChanges(changes: readonly SchemaChange[]): SchemaChange[] {
  return changes.filter((change) => change.kind !== 'added')
}

export function schemaDriftError(changes: readonly SchemaChange[], sinceRunId: string): SchemaDriftError {
  return new SchemaDriftError(
    `The source schema changed since run ${sinceRunId}: ${changes.map(describeChange).join('; ')}. ` +
      'Nothing was extracted. If the change is intended, update the models that use these columns, ' +
      'then run `starline extract --accept-schema-change` to record the new schema.',
  )
}
