import { Type, type Static } from '@sinclair/typebox'
import type { AccessMode, ChannelAccess } from '../../access/access-policy.ts'
import { BuildSummary } from './builds.ts'

/** Shapes of the channels, access, analytics and retention API (validation, serialisation, OpenAPI). */

// Written out (not mapped from the const lists in src/access): the type provider infers request
// types only from literal unions it can see. `Same` keeps them in step.
const AccessModeSchema = Type.Union([Type.Literal('public'), Type.Literal('password'), Type.Literal('invite')])
const ChannelAccessSchema = Type.Union([Type.Literal('inherit'), Type.Literal('public'), Type.Literal('password'), Type.Literal('invite')])
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
export const CHANNEL_SCHEMAS_MATCH: [Same<Static<typeof AccessModeSchema>, AccessMode>, Same<Static<typeof ChannelAccessSchema>, ChannelAccess>] = [true, true]

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])
const ChannelName = Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,39}$', description: 'lower-case a-z, 0-9, ".", "_", "-"' })
const Password = Type.String({ minLength: 6, maxLength: 256, description: 'set (or change) the password; kept as argon2id' })

/** `?channel=beta` (or a multipart field "channel") on an upload: the channel it goes to (default "main"). */
export const ChannelQuery = Type.Object({ channel: Type.Optional(Type.String({ maxLength: 40, description: 'the channel the build goes to (default "main")' })) })

export const AppRefParams = Type.Object({ id: Type.String({ maxLength: 200, description: 'app id or bundle id' }) })
export const ChannelParams = Type.Object({ id: Type.String({ maxLength: 200, description: 'app id or bundle id' }), channel: ChannelName })
export const TesterParams = Type.Object({ id: Type.String({ maxLength: 200 }), tester: Type.String({ maxLength: 320, description: 'tester id or e-mail address' }) })
export const GrantIdParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) })

// null (or 0, which the API's type coercion reads as null) turns a rule off.
const Retention = Type.Object({
  keepLast: Nullable(Type.Integer({ minimum: 1, maximum: 100_000, description: 'keep the newest N builds; null: no count rule' })),
  maxAgeDays: Nullable(Type.Integer({ minimum: 1, maximum: 36_500, description: 'keep builds newer than D days; null: no age rule' })),
})

export const AppAccess = Type.Object({ bundleId: Type.String(), access: AccessModeSchema, hasPassword: Type.Boolean() })
export const AppAccessBody = Type.Object({ access: AccessModeSchema, password: Type.Optional(Password) }, { additionalProperties: false })

export const Channel = Type.Object({
  name: Type.String(),
  access: ChannelAccessSchema,
  effectiveAccess: AccessModeSchema,
  hasPassword: Type.Boolean(),
  retention: Retention,
  buildCount: Type.Integer(),
  latestBuildId: Nullable(Type.String()),
  /** The channel's page (`/apps/<id>?channel=`); null before the app's first upload. */
  pageUrl: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})
export const ChannelList = Type.Object({ app: AppAccess, channels: Type.Array(Channel) })
export const ChannelPatchBody = Type.Object(
  {
    access: Type.Optional(ChannelAccessSchema),
    password: Type.Optional(Password),
    retention: Type.Optional(Type.Partial(Retention)),
  },
  { additionalProperties: false },
)

export const Grant = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('invite'), Type.Literal('password')]),
  channel: Nullable(Type.String()),
  tester: Nullable(Type.Object({ id: Type.String(), name: Type.String(), email: Type.String() })),
  createdAt: Type.String(),
  expiresAt: Nullable(Type.String()),
  revokedAt: Nullable(Type.String()),
})
export const InviteList = Type.Object({ invites: Type.Array(Grant) })
export const InviteBody = Type.Object(
  {
    tester: Type.String({ minLength: 1, maxLength: 320, description: 'tester id or e-mail address' }),
    channel: Type.Optional(Nullable(ChannelName)),
    expiresAt: Type.Optional(Type.String({ format: 'date-time', description: 'the link stops working then (default: never; revoke it instead)' })),
  },
  { additionalProperties: false },
)
export const CreatedInvite = Type.Composite([Grant, Type.Object({ url: Type.String({ description: 'the personal link: shown once' }) })])
export const Revoked = Type.Object({ revoked: Type.Integer() })

// Release notes' cap is checked in code (src/builds/release-notes-edit.ts), to answer 413 release-notes-too-long rather than a generic 400.
const ReleaseNotes = Nullable(Type.String({ description: 'markdown, at most 20000 characters; null or "" removes the notes. Control characters (NUL…) → 422 invalid-release-notes, longer → 413 release-notes-too-long' }))
export const BuildPatchBody = Type.Object({ keep: Type.Optional(Type.Boolean()), channel: Type.Optional(ChannelName), releaseNotes: Type.Optional(ReleaseNotes) }, { additionalProperties: false })
export const BuildChannel = Type.Object({ id: Type.String(), channel: Type.String(), keep: Type.Boolean(), releaseNotes: Type.Optional(Nullable(Type.String({ description: 'the notes as stored, when the request changed them' }))) })

const Counts = {
  pageViews: Type.Integer(),
  manifestFetches: Type.Integer({ description: 'installs started' }),
  downloadsStarted: Type.Integer(),
  downloadsCompleted: Type.Integer({ description: 'every byte of the .ipa sent within one download, ranges combined' }),
}
const TesterCounts = Type.Object({ testerId: Type.String(), name: Nullable(Type.String()), email: Nullable(Type.String()), ...Counts })
export const BuildAnalytics = Type.Object({ buildId: Type.String(), totals: Type.Object(Counts), testers: Type.Array(TesterCounts) })
export const AppAnalytics = Type.Object({
  bundleId: Type.String(),
  totals: Type.Object(Counts),
  builds: Type.Array(Type.Object({ buildId: Type.String(), ...Counts })),
  testers: Type.Array(TesterCounts),
})

export const RetentionBody = Type.Object(
  { dryRun: Type.Optional(Type.Boolean({ default: false })), app: Type.Optional(Type.String({ maxLength: 200, description: 'only this app (id or bundle id)' })) },
  { additionalProperties: false },
)
export const RetentionReport = Type.Object({
  dryRun: Type.Boolean(),
  ranAt: Type.String(),
  deletedBuilds: Type.Integer(),
  freedBytes: Type.Integer(),
  channels: Type.Array(
    Type.Object({
      bundleId: Type.String(),
      channel: Type.String(),
      policy: Retention,
      kept: Type.Integer(),
      deleted: Type.Array(Type.Object({ id: Type.String(), version: Nullable(Type.String()), build: Nullable(Type.String()), createdAt: Type.String(), size: Type.Integer() })),
    }),
  ),
})

/** A build as the builds API shows it, with its channel and "keep" mark. */
export const ChannelledBuildSummary = Type.Composite([BuildSummary, Type.Object({ channel: Type.String(), keep: Type.Boolean() })])
export const ChannelledBuildList = Type.Object({ builds: Type.Array(ChannelledBuildSummary), nextCursor: Nullable(Type.String()) })
