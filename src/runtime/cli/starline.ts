#!/usr/bin/env node
/** Entry point of the `starline` command (bin/starline.js runs the compiled copy). */
// First, before anything loads pg (see define-navigator.ts): ES modules evaluate in import order.
import '../define-navigator.js'
import { main } from './main.js'

// `starline status | head` closes stdout early: that is the reader's choice, not a failure.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0)
  throw error
})
process.exitCode = await main(process.argv.slice(2))
