#!/usr/bin/env node
/** Entry point of the `starline` command (bin/starline.js runs the compiled copy). */
import { main } from './main.js'

process.exitCode = await main(process.argv.slice(2))
