// The crash soak: the crash suite (test/crash/) with more kills at a bigger
// scale than the CI run, and a new seed each time unless one is given.
// Settings (environment): STARLINE_CRASH_KILLS (default 400), STARLINE_CRASH_SCALE
// (0.1), STARLINE_CRASH_SEED (default: from the clock, printed so a failure can
// be replayed), STARLINE_CRASH_CONCURRENCY (2), STARLINE_CRASH_ONLY (a regex of
// kill point ids, to replay one). The report goes to $STARLINE_REPORT_DIR/crash.json.
import { spawnSync } from 'node:child_process'

const env = {
  ...process.env,
  STARLINE_CRASH_KILLS: process.env.STARLINE_CRASH_KILLS ?? '400',
  STARLINE_CRASH_SCALE: process.env.STARLINE_CRASH_SCALE ?? '0.1',
  STARLINE_CRASH_SEED: process.env.STARLINE_CRASH_SEED ?? String(Date.now() % 1_000_000_007),
  STARLINE_CRASH_CONCURRENCY: process.env.STARLINE_CRASH_CONCURRENCY ?? '2',
  STARLINE_CRASH_S3_EVERY: process.env.STARLINE_CRASH_S3_EVERY ?? '1',
}
console.error(
  `crash soak: ${env.STARLINE_CRASH_KILLS} kills at scale ${env.STARLINE_CRASH_SCALE}, seed ${env.STARLINE_CRASH_SEED} ` +
    `(replay with STARLINE_CRASH_SEED=${env.STARLINE_CRASH_SEED})`,
)
const result = spawnSync(process.execPath, ['scripts/run-tests.mjs', 'test/crash'], { stdio: 'inherit', env })
process.exit(result.status ?? 1)
