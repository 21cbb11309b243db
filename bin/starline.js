#!/usr/bin/env node
// The `starline` command: the compiled CLI, built by `npm run build`
// (which `npm ci` runs through the prepare script).
import '../dist/runtime/cli/starline.js'
