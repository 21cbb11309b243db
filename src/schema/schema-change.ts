/**
 * A change in a source table's columns, as extract measures it against the
 * lake's record and writes it into the manifest.
 */
export const SCHEMA_CHANGE_KINDS = ['added', 'removed', 'retyped'] as const
export type SchemaChangeKind = (typeof SCHEMA_CHANGE_KINDS)[number]

export interface SchemaChange {
  readonly table: string
  readonly column: string
  readonly kind: SchemaChangeKind
  /** The type before (removed, retyped). */
  readonly from?: string
  /** The type now (added, retyped). */
  readonly to?: string
}

export function describeChange(change: SchemaChange): string {
  switch (change.kind) {
    case 'added':
      return `"${change.table}"."${change.column}" was added (${change.to})`
    case 'removed':
      return `"${change.table}"."${change.column}" was removed (it was ${change.from})`
    case 'retyped':
      return `"${change.table}"."${change.column}" changed type from ${change.from} to ${change.to}`
  }
}
