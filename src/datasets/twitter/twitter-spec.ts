/**
 * The Twitter research dataset the Parquet loader was first written for
 * (schema `tara_test`): its tables and column types, as the loader spec
 * `examples/twitter/spec.json` states them.
 */

type Columns = readonly (readonly [name: string, type: string])[]

const USERS: Columns = [
  ['user_id', 'bigint'],
  ['name', 'varchar(600)'],
  ['screen_name', 'varchar(600)'],
  ['location', 'varchar(600)'],
  ['description', 'varchar(600)'],
  ['protected', 'boolean'],
  ['followers_count', 'bigint'],
  ['friends_count', 'bigint'],
  ['statuses_count', 'bigint'],
  ['is_croatian', 'boolean'],
  ['clean_location', 'varchar(600)'],
]

const USER_FOLLOWERS: Columns = [
  ['user_id', 'varchar(600)'],
  ['followers_string', 'varchar(6000)'],
]

const TWEETS: Columns = [
  ['id', 'bigint'],
  ['created_at', 'timestamp'],
  ['user_id', 'bigint'],
  ['full_text', 'varchar(8000)'],
  ['lang', 'varchar(600)'],
  ['hashtags', 'varchar(600)'],
  ['user_mentions', 'varchar(1200)'],
  ['is_retweet', 'boolean'],
  ['in_retweet_cnt', 'float'],
  ['retweet_created_at', 'varchar(600)'],
  ['retweet_from_user_id', 'bigint'],
  ['retweet_from_status_id', 'bigint'],
  ['is_quote', 'boolean'],
  ['in_quote_cnt', 'float'],
  ['quote_created_at', 'varchar(600)'],
  ['quote_timedelta_sec', 'bigint'],
  ['quote_from_user_id', 'bigint'],
  ['quote_from_status_id', 'bigint'],
  ['is_reply', 'boolean'],
  ['in_reply_cnt', 'bigint'],
  ['in_reply_to_user_id', 'bigint'],
  ['in_reply_to_status_id', 'bigint'],
]

export const TWITTER_TABLES = { users: USERS, user_followers: USER_FOLLOWERS, tweets: TWEETS } as const
export type TwitterTable = keyof typeof TWITTER_TABLES

/** The spec as JSON text; prefixes are relative to the spec file (`data/<table>/`). */
export function twitterSpecJson(): string {
  const tables = Object.entries(TWITTER_TABLES).map(([name, columns]) => ({
    name,
    prefix: `data/${name}/`,
    mode: 'truncate',
    columns: columns.map(([column, type]) => ({ name: column, type })),
  }))
  return `${JSON.stringify({ schema: 'tara_test', tables }, null, 2)}\n`
}
