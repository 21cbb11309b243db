// Rewrites the generated parts of README.md (between `<!-- generated:NAME -->`
// and `<!-- /generated:NAME -->` markers) from the code: `npm run docs`.
// test/unit/config/settings.test.ts fails when README.md is out of date.
import { readFileSync, writeFileSync } from 'node:fs'
import { settingsMarkdown } from '../src/config/settings.js'

export const GENERATED: Readonly<Record<string, () => string>> = {
  settings: settingsMarkdown,
}

export function withGeneratedSections(readme: string): string {
  let out = readme
  for (const [name, render] of Object.entries(GENERATED)) {
    const start = `<!-- generated:${name} -->`
    const end = `<!-- /generated:${name} -->`
    const from = out.indexOf(start)
    const to = out.indexOf(end)
    if (from === -1 || to === -1) throw new Error(`README.md lacks the ${start} ... ${end} markers`)
    out = `${out.slice(0, from + start.length)}\n${render()}\n${out.slice(to)}`
  }
  return out
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const path = new URL('../README.md', import.meta.url)
  writeFileSync(path, withGeneratedSections(readFileSync(path, 'utf8')))
}
