import type pg from 'pg'

/** How the PostgreSQL warehouse connects: a URL, or a ready pool (tests, Lambda). */
export type PostgresWarehouseConfig =
  | { readonly url: string; readonly setting?: string }
  | { readonly pool: pg.Pool }
