/**
 * Crash safety, tried by force: `starline run` SIGKILLed at more than a
 * hundred points (kill-matrix.ts), and the source and warehouse PostgreSQL
 * servers SIGKILLed mid-statement (database-kills.ts). Writes the `crash`
 * integrity report (`$STARLINE_REPORT_DIR/crash.json`).
 */
import { after } from 'node:test'
import { IntegrityReport } from '../support/integrity-report.js'
import { describeDatabaseKills } from './database-kills.js'
import { describeKillMatrix } from './kill-matrix.js'
import { describeS3KillMatrix } from './s3-kill-matrix.js'

const report = new IntegrityReport('crash')
after(() => {
  report.write()
})

describeKillMatrix(report)
describeS3KillMatrix(report)
describeDatabaseKills(report)
