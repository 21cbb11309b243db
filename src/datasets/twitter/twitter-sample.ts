/**
 * Realistic sample Parquet for the Twitter example, written with DuckDB the
 * way real producers leave it: several part files per table with zstd and
 * snappy compression, a nested folder, Spark's `_SUCCESS` marker and a `.crc`
 * side file, dictionary-encoded low-cardinality columns, ids beyond 2^53,
 * unicode and emoji, quotes and newlines in text, nulls and empty strings,
 * and one part whose integer column is 32-bit where the others are 64-bit.
 *
 * Deterministic: the same row count writes the same values.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDuckDb } from '../../engines/duckdb/duckdb-engine.js'
import { quoteLiteral } from '../../sql/quote.js'
import { twitterSpecJson, type TwitterTable } from './twitter-spec.js'

export interface TwitterSampleSummary {
  readonly dir: string
  readonly specFile: string
  readonly rows: Readonly<Record<TwitterTable, number>>
  readonly files: readonly string[]
}

/** Ids start past 2^53 so that any float conversion on the way shows. */
const USER_ID_BASE = '1500000000000000000'
const TWEET_ID_BASE = '1700000000000000000'

/** Writes `spec.json` and `data/<table>/...` under `dir`; `tweets` rows (default 2000), a quarter as many users. */
export async function writeTwitterSample(dir: string, options: { readonly rows?: number } = {}): Promise<TwitterSampleSummary> {
  const tweets = Math.max(4, Math.trunc(options.rows ?? 2000))
  const users = Math.max(4, Math.ceil(tweets / 4))
  const scratch = await mkdtemp(join(tmpdir(), 'starline-twitter-'))
  const db = await openDuckDb({ scratchDir: scratch })
  const files: string[] = []
  try {
    await db.run(`CREATE TABLE users AS ${usersSql(users)}`)
    await db.run(`CREATE TABLE user_followers AS ${followersSql(users)}`)
    await db.run(`CREATE TABLE tweets AS ${tweetsSql(tweets, users)}`)
    const write = async (table: TwitterTable, file: string, where: string, codec: 'zstd' | 'snappy', select = '* EXCLUDE (i)') => {
      const path = join(dir, 'data', table, file)
      await mkdir(join(path, '..'), { recursive: true })
      await db.run(
        `COPY (SELECT ${select} FROM ${table} WHERE ${where} ORDER BY i) TO ${quoteLiteral(path)} (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE 512)`,
      )
      files.push(path)
    }
    await write('users', 'part-00000-c000.zstd.parquet', 'i % 3 = 0', 'zstd')
    await write('users', 'part-00001-c000.snappy.parquet', 'i % 3 = 1', 'snappy')
    await write('users', 'batch=2/part-00002-c000.snappy.parquet', 'i % 3 = 2', 'snappy')
    await write('user_followers', 'part-00000.zstd.parquet', 'i % 2 = 0', 'zstd')
    await write('user_followers', 'part-00001.zstd.parquet', 'i % 2 = 1', 'zstd')
    await write('tweets', 'part-00000.snappy.parquet', 'i % 3 = 0', 'snappy')
    await write('tweets', 'part-00001.zstd.parquet', 'i % 3 = 1', 'zstd')
    // A producer that wrote a count as int32 in one part: the loader matches by name and type, not by physical width.
    const narrow = "* EXCLUDE (i) REPLACE (CAST(in_reply_cnt AS INTEGER) AS in_reply_cnt)"
    await write('tweets', '2024/01/part-00002.zstd.parquet', 'i % 3 = 2', 'zstd', narrow)
    for (const table of ['users', 'user_followers', 'tweets'] as const) {
      await writeFile(join(dir, 'data', table, '_SUCCESS'), '')
    }
    await writeFile(join(dir, 'data', 'users', '.part-00000-c000.zstd.parquet.crc'), 'crc')
    const specFile = join(dir, 'spec.json')
    await writeFile(specFile, twitterSpecJson())
    return { dir, specFile, rows: { users, user_followers: users, tweets }, files }
  } finally {
    db.close()
    await rm(scratch, { recursive: true, force: true })
  }
}

const NAMES = ['Ana Horvat', 'Marko Kovačević', 'Željka Šarić', 'Đuro Đaković', '李雷', 'Zoë 🌊', 'O\'Brien "Bob"', 'Ivana\nNovak']
const PLACES = ['Zagreb, Hrvatska', 'Split 🌴', 'Rijeka', 'Beograd, Србија', 'Osijek', 'Dubrovnik "Grad"', '']
const LANGS = ['hr', 'en', 'sr', 'bs', 'und']

function pick(list: readonly string[], index: string): string {
  return `[${list.map(quoteLiteral).join(', ')}][1 + CAST((${index}) % ${list.length} AS BIGINT)]`
}

function usersSql(n: number): string {
  return `SELECT i,
  ${USER_ID_BASE}::BIGINT + i * 7919 AS user_id,
  ${pick(NAMES, 'i')} || ' ' || i AS name,
  'user_' || i AS screen_name,
  CASE WHEN i % 7 = 0 THEN NULL ELSE ${pick(PLACES, 'i')} END AS location,
  CASE WHEN i % 5 = 0 THEN NULL WHEN i % 5 = 1 THEN ''
       ELSE 'Volim "Dinamo" 😀, čevapi & rakija' || chr(10) || 'drugi red, back\\slash ' || i END AS description,
  CASE WHEN i % 11 = 0 THEN NULL ELSE i % 13 = 0 END AS protected,
  (hash(i) % 5000000)::BIGINT AS followers_count,
  (hash(i + 1) % 10000)::BIGINT AS friends_count,
  CASE WHEN i % 17 = 0 THEN NULL ELSE (hash(i + 2) % 200000)::BIGINT END AS statuses_count,
  i % 4 <> 3 AS is_croatian,
  CASE WHEN i % 7 = 0 THEN NULL ELSE lower(${pick(PLACES, 'i')}) END AS clean_location
FROM range(${n}) t(i)`
}

function followersSql(n: number): string {
  return `SELECT i,
  CAST(${USER_ID_BASE}::BIGINT + i * 7919 AS VARCHAR) AS user_id,
  CASE WHEN i % 9 = 0 THEN NULL ELSE array_to_string(
    [CAST(${USER_ID_BASE}::BIGINT + ((i + k) % ${n}) * 7919 AS VARCHAR) FOR k IN range(1, 1 + i % 40)], ',') END AS followers_string
FROM range(${n}) t(i)`
}

function tweetsSql(n: number, users: number): string {
  const user = (expr: string) => `${USER_ID_BASE}::BIGINT + ((${expr}) % ${users}) * 7919`
  const tweet = (expr: string) => `${TWEET_ID_BASE}::BIGINT + (${expr})`
  return `SELECT i,
  ${tweet('i')} AS id,
  TIMESTAMP '2024-01-01 00:00:00' + to_microseconds(i * 37123457) AS created_at,
  ${user('i')} AS user_id,
  'Tweet ' || i || ': ' || ${pick(NAMES, 'i')} || ' kaže "bok" 👋🏽' || CASE WHEN i % 4 = 0 THEN chr(10) || 'novi red, ''citat''' WHEN i % 4 = 2 THEN chr(13) || chr(10) || chr(9) || 'tab i \\N' ELSE '' END AS full_text,
  ${pick(LANGS, 'hash(i)')} AS lang,
  CASE WHEN i % 3 = 0 THEN NULL ELSE '#zagreb,#hrvatska' END AS hashtags,
  CASE WHEN i % 5 = 0 THEN '@user_' || (i % ${users}) ELSE NULL END AS user_mentions,
  i % 4 = 1 AS is_retweet,
  CASE WHEN i % 4 = 1 THEN (hash(i) % 1000)::DOUBLE / 8 ELSE NULL END AS in_retweet_cnt,
  CASE WHEN i % 4 = 1 THEN strftime(TIMESTAMP '2023-12-01' + to_seconds(i * 61), '%a %b %d %H:%M:%S +0000 %Y') END AS retweet_created_at,
  CASE WHEN i % 4 = 1 THEN ${user('i + 3')} END AS retweet_from_user_id,
  CASE WHEN i % 4 = 1 THEN ${tweet('i * 2 + 1')} END AS retweet_from_status_id,
  i % 6 = 2 AS is_quote,
  CASE WHEN i % 6 = 2 THEN (0.1 * (i % 7))::DOUBLE ELSE NULL END AS in_quote_cnt,
  CASE WHEN i % 6 = 2 THEN strftime(TIMESTAMP '2023-12-15' + to_seconds(i * 13), '%Y-%m-%dT%H:%M:%S') END AS quote_created_at,
  CASE WHEN i % 6 = 2 THEN (i * 977)::BIGINT END AS quote_timedelta_sec,
  CASE WHEN i % 6 = 2 THEN ${user('i + 5')} END AS quote_from_user_id,
  CASE WHEN i % 6 = 2 THEN ${tweet('i * 3 + 2')} END AS quote_from_status_id,
  CASE WHEN i % 10 = 9 THEN NULL ELSE i % 5 = 3 END AS is_reply,
  (i % 23)::BIGINT AS in_reply_cnt,
  CASE WHEN i % 5 = 3 THEN ${user('i + 7')} END AS in_reply_to_user_id,
  CASE WHEN i % 5 = 3 THEN ${tweet('i - 1')} END AS in_reply_to_status_id
FROM range(${n}) t(i)`
}
