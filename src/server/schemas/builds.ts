import { Type, type Static } from '@sinclair/typebox'

/** Shapes of the public API, shared by routes (validation, serialisation, OpenAPI) and tests. */

export const ErrorBody = Type.Object({ error: Type.String(), message: Type.String() }, { $id: 'ErrorBody' })

export const Problem = Type.Object({
  code: Type.String(),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning'), Type.Literal('info')]),
  message: Type.String(),
})

export const BuildSummary = Type.Object({
  id: Type.String(),
  app: Type.Object({ id: Type.String(), bundleId: Type.String(), name: Type.String() }),
  version: Type.Union([Type.String(), Type.Null()]),
  build: Type.Union([Type.String(), Type.Null()]),
  size: Type.Integer(),
  sha256: Type.String(),
  notes: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  signing: Type.Union([
    Type.Object({ kind: Type.String(), expiresAt: Type.Union([Type.String(), Type.Null()]), deviceCount: Type.Integer(), allDevices: Type.Boolean() }),
    Type.Null(),
  ]),
  installPageUrl: Type.String(),
  manifestUrl: Type.String(),
  itmsServicesUrl: Type.String(),
  linksExpireAt: Type.String(),
  problems: Type.Array(Problem),
})
export type BuildSummary = Static<typeof BuildSummary>

export const BuildList = Type.Object({ builds: Type.Array(BuildSummary), nextCursor: Type.Union([Type.String(), Type.Null()]) })

export const AppSummary = Type.Object({
  id: Type.String(),
  bundleId: Type.String(),
  name: Type.String(),
  buildCount: Type.Integer(),
  latestBuildId: Type.Union([Type.String(), Type.Null()]),
  latestVersion: Type.Union([Type.String(), Type.Null()]),
  appPageUrl: Type.String(),
  updatedAt: Type.String(),
})

/** Public ids: 22 base64url characters (16 random bytes). */
export const IdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })

export const UploadQuery = Type.Object({ notes: Type.Optional(Type.String({ maxLength: 20_000 })), fileName: Type.Optional(Type.String({ maxLength: 255 })) })

export const ListQuery = Type.Object({
  appId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
})
