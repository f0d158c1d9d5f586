import { Type, type Static } from '@sinclair/typebox'

/** Shapes of the devices API, shared by routes (validation, serialisation, OpenAPI) and tests. */

const Nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()])
const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })

export const Device = Type.Object({
  id: Type.String(),
  udid: Type.String(),
  name: Type.String(),
  customName: Nullable(Type.String()),
  reportedName: Nullable(Type.String()),
  product: Nullable(Type.String()),
  model: Nullable(Type.String()),
  family: Type.String(),
  osVersion: Nullable(Type.String()),
  serial: Nullable(Type.String()),
  tester: Nullable(Type.String()),
  signatureVerified: Type.Boolean(),
  chainVerified: Type.Union([Type.Boolean(), Type.Null()]),
  enrollments: Type.Integer(),
  appleDeviceId: Nullable(Type.String()),
  appleRegisteredAt: Nullable(Type.String()),
  firstSeenAt: Type.String(),
  lastSeenAt: Type.String(),
  /** Whether the build in scope installs on it (null: no build in scope). */
  provisioned: Type.Union([Type.Boolean(), Type.Null()]),
})
export type Device = Static<typeof Device>

const BuildRef = Type.Object({ id: Type.String(), appId: Type.String(), name: Type.String(), version: Nullable(Type.String()), build: Nullable(Type.String()), kind: Nullable(Type.String()) })

export const DeviceList = Type.Object({ build: Type.Union([BuildRef, Type.Null()]), devices: Type.Array(Device) })

export const DeviceQuery = Type.Object({
  appId: Type.Optional(Id),
  buildId: Type.Optional(Id),
  provisioned: Type.Optional(Type.Boolean()),
  tester: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
})

export const ExportQuery = Type.Intersect([DeviceQuery, Type.Object({ format: Type.Optional(Type.Union([Type.Literal('apple'), Type.Literal('deviceids')], { default: 'apple' })) })])

export const DeviceIdParams = Type.Object({ id: Id })

// Null first: fastify's ajv coerces types, and would turn a null into "" for a string-first union.
export const DevicePatch = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 200 })])),
    tester: Type.Optional(Type.Union([Type.Null(), Type.String({ maxLength: 200 })])),
  },
  { additionalProperties: false },
)

export const MissingDevices = Type.Object({
  build: BuildRef,
  limitedToListedDevices: Type.Boolean(),
  summary: Type.String(),
  provisioned: Type.Array(Device),
  missing: Type.Array(Device),
})

export const InviteCreate = Type.Object({ tester: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })
export const Invite = Type.Object({ id: Type.String(), tester: Type.String(), createdAt: Type.String(), lastUsedAt: Nullable(Type.String()) })
export const CreatedInvite = Type.Intersect([Invite, Type.Object({ url: Type.String() })])
export const InviteList = Type.Object({ invites: Type.Array(Invite) })

export const AppleRegister = Type.Object({ deviceIds: Type.Array(Id, { minItems: 1, maxItems: 100 }) }, { additionalProperties: false })
export const AppleRegistrations = Type.Object({
  results: Type.Array(
    Type.Object({
      id: Type.String(),
      udid: Nullable(Type.String()),
      name: Nullable(Type.String()),
      status: Type.String(),
      appleDeviceId: Nullable(Type.String()),
      message: Nullable(Type.String()),
    }),
  ),
})
export const AppleUsage = Type.Object({
  total: Type.Integer(),
  families: Type.Array(Type.Object({ deviceClass: Type.String(), count: Type.Integer(), limit: Type.Integer(), remaining: Type.Integer() })),
  note: Type.String(),
})
