import type { FastifyInstance } from 'fastify'
import type { Services } from '../app.ts'
import { registerApiDocs } from './api-docs.ts'
import { apiAppNotificationsRoutes } from './routes/api-app-notifications.ts'
import { apiAppsRoutes } from './routes/api-apps.ts'
import { apiBuildsRoutes } from './routes/api-builds.ts'
import { apiDeliveriesRoutes } from './routes/api-deliveries.ts'
import { apiDevicesRoutes } from './routes/api-devices.ts'
import { apiDoctorRoutes } from './routes/api-doctor.ts'
import { apiGroupsRoutes } from './routes/api-groups.ts'
import { apiTestersRoutes } from './routes/api-testers.ts'
import { caRoutes } from './routes/ca.ts'
import { enrollRoutes } from './routes/enroll.ts'
import { healthRoutes } from './routes/health.ts'
import { installAssetsRoutes } from './routes/install-assets.ts'
import { operationsRoutes } from './routes/operations.ts'
import { pagesRoutes } from './routes/pages.ts'
import { adminRoutes } from './routes/admin.ts'
import { accessFormsRoutes } from './routes/access-forms.ts'
import { apiChannelsRoutes } from './routes/api-channels.ts'

/**
 * Every URL Airstrip serves, on one screen:
 *
 *   GET  /healthz                         health
 *   GET  /readyz, /metrics (token)        readiness, Prometheus   operations
 *   POST /api/v1/builds                   upload (token)          api-builds
 *   GET  /api/v1/builds[/:id], DELETE     builds (token)          api-builds
 *   GET  /api/v1/apps[/:id]               apps (token)            api-apps
 *   GET  /api/openapi.json, /api/docs     OpenAPI                 api-docs
 *   GET  /m/:token/manifest.plist         manifest (signed link)  install-assets
 *   GET  /d/:token/:file.ipa  (+HEAD)     the .ipa (signed link)  install-assets
 *   GET  /icon/:token.png                 icon (signed link)      install-assets
 *   GET  /, /i/:buildId, /apps/:appId     pages                   pages
 *   GET  /ca.crt, /ca.mobileconfig        dev CA for test phones  ca
 *   GET  /enroll[/:invite]                UDID enrolment page     enroll
 *   GET  /enroll/:token/profile.mobileconfig, POST …/device (iOS), GET …/done   enroll
 *   GET  /api/v1/devices[/:id], PATCH, DELETE, /export, /invites, /apple[/register] (token)   api-devices
 *   GET  /api/v1/builds/:id/devices       devices a build misses  api-devices
 *   GET|POST /api/v1/testers, GET|PATCH|DELETE /api/v1/testers/:id (token)   api-testers
 *   GET|POST /api/v1/groups, …/:id, PUT|DELETE …/:id/members/:testerId (token)   api-groups
 *   GET|PATCH /api/v1/apps/:id/notifications, GET|POST …/webhooks, GET|DELETE /api/v1/webhooks/:id   api-app-notifications
 *   GET  /api/v1/deliveries[/:id], POST …/:id/retry   notification outbox (token)   api-deliveries
 *   GET  /api/v1/doctor[?build=&udid=]    self-diagnosis of a build's deployment (token)   api-doctor
 *   GET  /apps/:appId?channel=, /t/:secret[/:buildId]   channel page, a tester's personal link   pages
 *   POST /i/:buildId, /apps/:appId        password form of a protected build or app   access-forms
 *   GET  /api/v1/apps/:id/channels[/:channel], PATCH|DELETE …/:channel, PUT /api/v1/apps/:id/access (token)   api-channels
 *   GET|POST /api/v1/apps/:id/invites, DELETE /api/v1/invites/:id, DELETE …/apps/:id/testers/:tester/invites   api-channels
 *   PATCH /api/v1/builds/:id (keep, channel, releaseNotes), GET /api/v1/builds/:id/analytics, /api/v1/apps/:id/analytics, POST /api/v1/retention/run   api-channels
 *   GET|POST /admin/…                     admin web UI (session cookie + CSRF): login, setup, apps, builds, upload, tokens, testers, devices, webhooks, settings   admin*
 */
export async function registerRoutes(app: FastifyInstance, services: Services): Promise<void> {
  await registerApiDocs(app)
  await app.register(healthRoutes, { services })
  await app.register(operationsRoutes, { services })
  await app.register(apiBuildsRoutes, { services })
  await app.register(apiAppsRoutes, { services })
  await app.register(installAssetsRoutes, { services })
  await app.register(pagesRoutes, { services })
  await app.register(caRoutes, { services })
  await app.register(enrollRoutes, { services })
  await app.register(apiDevicesRoutes, { services })
  await app.register(apiTestersRoutes, { services })
  await app.register(apiGroupsRoutes, { services })
  await app.register(apiAppNotificationsRoutes, { services })
  await app.register(apiDeliveriesRoutes, { services })
  await app.register(apiDoctorRoutes, { services })
  await app.register(adminRoutes, { services })
  await app.register(accessFormsRoutes, { services })
  await app.register(apiChannelsRoutes, { services })
}
