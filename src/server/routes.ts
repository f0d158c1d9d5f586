import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { registerApiDocs } from './api-docs.ts'
import { apiAppsRoutes } from './routes/api-apps.ts'
import { apiBuildsRoutes } from './routes/api-builds.ts'
import { caRoutes } from './routes/ca.ts'
import { healthRoutes } from './routes/health.ts'
import { installAssetsRoutes } from './routes/install-assets.ts'
import { pagesRoutes } from './routes/pages.ts'

/**
 * Every URL Airstrip serves, on one screen:
 *
 *   GET  /healthz                         health
 *   POST /api/v1/builds                   upload (token)          api-builds
 *   GET  /api/v1/builds[/:id], DELETE     builds (token)          api-builds
 *   GET  /api/v1/apps[/:id]               apps (token)            api-apps
 *   GET  /api/openapi.json, /api/docs     OpenAPI                 api-docs
 *   GET  /m/:token/manifest.plist         manifest (signed link)  install-assets
 *   GET  /d/:token/:file.ipa  (+HEAD)     the .ipa (signed link)  install-assets
 *   GET  /icon/:token.png                 icon (signed link)      install-assets
 *   GET  /, /i/:buildId, /apps/:appId     pages                   pages
 *   GET  /ca.crt, /ca.mobileconfig        dev CA for test phones  ca
 */
export async function registerRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await registerApiDocs(app)
  await app.register(healthRoutes, { services })
  await app.register(apiBuildsRoutes, { services })
  await app.register(apiAppsRoutes, { services })
  await app.register(installAssetsRoutes, { services })
  await app.register(pagesRoutes, { services })
  await app.register(caRoutes, { services })
}
