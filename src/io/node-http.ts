import { createRequire } from 'node:module'

/**
 * `node:http`, loaded with `require` rather than `import`. Importing it from an ES module makes
 * Node build the module's namespace from every export, which runs the lazy `WebSocket`,
 * `CloseEvent` and `MessageEvent` getters and so loads Node's bundled undici — +13 MiB of RSS
 * (Node 24, measured: `import 'node:http'` 59 MiB against 46 MiB required) in a server that never
 * uses them. Type-only imports from 'node:http' are fine (erased).
 */
export const http = createRequire(import.meta.url)('node:http') as typeof import('node:http')
