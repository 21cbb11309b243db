import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { SECRET_SETTINGS } from '../../../src/config/secrets.js'
import { SETTINGS, settingsHelp, settingsMarkdown } from '../../../src/config/settings.js'
import { withGeneratedSections } from '../../../scripts/update-readme.js'

describe('the settings table', () => {
  it('is what the README shows (run `npm run docs` after changing a setting)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8')
    assert.equal(readme, withGeneratedSections(readme))
  })

  it('gives every setting a unique variable and file key under the STARLINE_ prefix', () => {
    const entries = Object.values(SETTINGS)
    assert.equal(new Set(entries.map((s) => s.env)).size, entries.length)
    assert.equal(new Set(entries.map((s) => s.file)).size, entries.length)
    for (const s of entries) assert.match(s.env, /^STARLINE_[A-Z_]+$/)
  })

  it('lists every variable in the help text', () => {
    const help = settingsHelp()
    for (const s of Object.values(SETTINGS)) assert.ok(help.includes(s.env), `${s.env} missing from the help`)
  })

  it('documents every variable the Lambda functions read: the secret ids and the Parquet loader spec', () => {
    const table = settingsMarkdown()
    const help = settingsHelp()
    for (const name of [...SECRET_SETTINGS.map((s) => s.secretEnv), 'STARLINE_LOADER_SPEC', 'STARLINE_LOADER_SPEC_FILE', 'STARLINE_REDSHIFT_IAM_ROLE']) {
      assert.ok(table.includes(`| \`${name}\` |`), `${name} missing from the settings table`)
      assert.ok(help.includes(name), `${name} missing from the help`)
    }
  })
})
