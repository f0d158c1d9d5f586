#!/usr/bin/env node
// The `airstrip` command. Node >= 22.18 / 24 runs the TypeScript sources directly (type stripping).
//
// The compile cache keeps V8's compiled code (and the stripped TypeScript) between runs, in
// NODE_COMPILE_CACHE or the OS temp folder: `airstrip inspect` starts ~2× sooner and peaks
// ~20 MiB lower (bench/inspect.ts, README "Performance"). It must be enabled before the sources
// load, hence the dynamic import. An unwritable cache folder only disables it.
import module from 'node:module'

module.enableCompileCache?.()
const { main } = await import('../src/cli/main.ts')

process.exitCode = await main(process.argv.slice(2))
