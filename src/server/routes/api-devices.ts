import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import type { Services } from '../../app.ts'
import { appleDeviceIdsPlist, appleDeviceList } from '../../devices/apple-export.ts'
import type { DeviceFamilyName } from '../../devices/device-models.ts'
import { devicesInScope, missingDevicesReport } from '../../devices/device-scope.ts'
import { tidyDeviceName } from '../../devices/device-names.ts'
import { AirstripError } from '../../errors.ts'
import type { DeviceRecord } from '../../store/devices.ts'
import type { BuildRecord } from '../../store/records.ts'
import { requireApiToken } from '../api-auth.ts'
import { ErrorBody, IdParams } from '../schemas/builds.ts'
import {
  AppleRegister, AppleRegistrations, AppleUsage, CreatedInvite, Device, DeviceIdParams, DeviceList, DevicePatch, DeviceQuery, ExportQuery, InviteCreate, InviteList, MissingDevices,
} from '../schemas/devices.ts'

/** The team's devices: list (by app/build, provisioned or not), rename, link, delete, export for Apple, invites, App Store Connect. */
export async function apiDevicesRoutes(base: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const app = base.withTypeProvider<TypeBoxTypeProvider>()
  const { devices, meta } = services
  const scopeDeps = { meta, store: devices.store, now: services.now }
  app.addHook('preHandler', requireApiToken(services))
  const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody }
  const tags = ['devices']

  app.get('/api/v1/devices', { schema: { tags, summary: 'Enrolled devices; with appId/buildId each says whether that build installs on it', querystring: DeviceQuery, response: { 200: DeviceList, ...errors } } }, async (request) => {
    const { build, devices: list } = await devicesInScope(scopeDeps, request.query)
    return { build: build ? buildRef(build) : null, devices: list.map(toDeviceJson) }
  })

  app.get(
    '/api/v1/devices/export',
    {
      schema: {
        tags,
        summary: 'The devices as Apple\'s bulk-registration file: format=apple (tab-separated, with header) or format=deviceids (plist)',
        querystring: ExportQuery,
        produces: ['text/plain', 'application/xml'],
        response: { 200: Type.String(), ...errors },
      },
    },
    async (request, reply) => {
      const { devices: list } = await devicesInScope(scopeDeps, request.query)
      const exportable = list.map((device) => ({ udid: device.udid, name: device.name, modelName: device.modelName, family: device.family as DeviceFamilyName }))
      const apple = (request.query.format ?? 'apple') === 'apple'
      return reply
        .type(apple ? 'text/plain; charset=utf-8' : 'application/xml; charset=utf-8')
        .header('content-disposition', `attachment; filename="${apple ? 'devices.txt' : 'devices.deviceids'}"`)
        .header('cache-control', 'no-store')
        .send(apple ? appleDeviceList(exportable) : appleDeviceIdsPlist(exportable))
    },
  )

  app.get('/api/v1/devices/invites', { schema: { tags, summary: 'Personal enrolment links (their secrets are shown only at creation)', response: { 200: InviteList, 401: ErrorBody } } }, async () => ({
    invites: await devices.store.listInvites(),
  }))

  app.post('/api/v1/devices/invites', { schema: { tags, summary: 'Create a personal enrolment link for a tester (an e-mail address or a name)', body: InviteCreate, response: { 201: CreatedInvite, ...errors } } }, async (request, reply) => {
    const { invite, url } = await devices.createInvite(request.body.tester)
    return reply.code(201).send({ ...invite, url })
  })

  app.delete('/api/v1/devices/invites/:id', { schema: { tags, summary: 'Revoke a personal enrolment link', params: DeviceIdParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    if (!(await devices.store.deleteInvite(request.params.id))) throw new AirstripError('invite-not-found')
    return reply.code(204).send(null)
  })

  app.get('/api/v1/devices/apple', { schema: { tags, summary: 'App Store Connect: devices per family against the yearly limit', response: { 200: AppleUsage, 401: ErrorBody, 409: ErrorBody, 424: ErrorBody } } }, async () =>
    devices.appleUsage(),
  )

  app.post(
    '/api/v1/devices/apple/register',
    { schema: { tags, summary: 'App Store Connect: register devices (POST /v1/devices); one outcome per device', body: AppleRegister, response: { 200: AppleRegistrations, ...errors, 409: ErrorBody, 424: ErrorBody } } },
    async (request) => ({ results: await devices.registerWithApple(request.body.deviceIds) }),
  )

  app.get('/api/v1/devices/:id', { schema: { tags, params: DeviceIdParams, response: { 200: Device, ...errors } } }, async (request) => toDeviceJson(await existing(request.params.id)))

  app.patch('/api/v1/devices/:id', { schema: { tags, summary: 'Rename (name; null resets to the device\'s own) and/or link to a tester (null unlinks)', params: DeviceIdParams, body: DevicePatch, response: { 200: Device, ...errors } } }, async (request) => {
    const { name, tester } = request.body
    const updated = await devices.store.updateDevice(request.params.id, {
      ...(name !== undefined ? { customName: name === null ? null : requireName(name) } : {}),
      ...(tester !== undefined ? { tester } : {}),
    })
    if (!updated) throw new AirstripError('device-not-found')
    return toDeviceJson(updated)
  })

  app.delete('/api/v1/devices/:id', { schema: { tags, params: DeviceIdParams, response: { 204: Type.Null(), ...errors } } }, async (request, reply) => {
    if (!(await devices.store.deleteDevice(request.params.id))) throw new AirstripError('device-not-found')
    return reply.code(204).send(null)
  })

  app.get('/api/v1/builds/:id/devices', { schema: { tags, summary: 'Which enrolled devices the build\'s profile includes, and which it misses', params: IdParams, response: { 200: MissingDevices, ...errors } } }, async (request) => {
    const build = await meta.getBuild(request.params.id)
    if (!build) throw new AirstripError('build-not-found')
    const report = missingDevicesReport(build, await devices.store.listDevices(), services.now())
    return { build: buildRef(build), ...report, provisioned: report.provisioned.map(toDeviceJson), missing: report.missing.map(toDeviceJson) }
  })

  const existing = async (id: string): Promise<DeviceRecord> => {
    const device = await devices.store.getDevice(id)
    if (!device) throw new AirstripError('device-not-found')
    return device
  }
}

function requireName(name: string): string {
  const tidy = tidyDeviceName(name)
  if (tidy === null) throw new AirstripError('bad-request', 'a device name needs at least one visible character (null resets it)')
  return tidy
}

function buildRef(build: BuildRecord): { id: string; appId: string; name: string; version: string | null; build: string | null; kind: string | null } {
  return { id: build.id, appId: build.appId, name: build.name, version: build.version, build: build.build, kind: build.info.profile?.kind ?? null }
}

/** The API's device: the record, `model` for the marketing name, `provisioned` when a build is in scope. */
export function toDeviceJson(device: DeviceRecord & { provisioned?: boolean | null }): Device {
  const { modelName, provisioned, ...rest } = device
  return { ...rest, model: modelName, provisioned: provisioned ?? null }
}
