import { createRequire } from 'node:module'

/**
 * `node:http`, loaded with `require` rather than `import`. Importing it from an ES module makes
 * Node build the module's namespace from every export, which runs the lazy `WebSocket`,
 * `CloseEvent` and `MessageEvent` getters and so loads Node's bundled undici, which nothing here
 * uses. Measured on Node 24: a bare `import 'node:http'` process 59 MiB RSS against 46 MiB
 * required; in the idle server ~2 MiB RSS and ~1.5 MiB of heap (much of the rest is loaded anyway).
 * Type-only imports from 'node:http' are fine (erased).
 */
export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http')
