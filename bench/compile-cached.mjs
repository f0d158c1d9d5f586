// Runs a TypeScript entry point the way bin/airstrip.js runs Airstrip: Node's compile cache enabled
// before any TypeScript loads. Started directly, a .ts entry is type-stripped on every start, which
// loads Node's stripper (measured: +15 MiB RSS for the whole process lifetime) into a server that
// `npm start` runs without it — the serve benchmark measures RSS, so it starts Airstrip through this.
//
// Usage: node [flags] bench/compile-cached.mjs <entry.ts> [its arguments]
import module from 'node:module'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'

module.enableCompileCache?.()
const [entry] = process.argv.splice(2, 1)
if (!entry) throw new Error('usage: node bench/compile-cached.mjs <entry.ts> [arguments]')
await import(pathToFileURL(resolve(entry)).href)
