import { Type, type Static } from '@sinclair/typebox'
import { AirstripError } from '../../errors.ts'
import { WEBHOOK_EVENTS, type Channel, type DeliveryStatus, type NotifyOnUpload, type WebhookEvent, type WebhookFormat } from '../../store/notification-records.ts'

/** Shapes of the notification API (testers, groups, app subscriptions, webhooks, deliveries). */

// Written out (not mapped from the const lists in notification-records.ts): the type provider
// infers request types only from literal unions it can see. `Same` below keeps them in step.
const NotifyOnUploadSchema = Type.Union([Type.Literal('always'), Type.Literal('on-request')])
const WebhookFormatSchema = Type.Union([Type.Literal('json'), Type.Literal('slack'), Type.Literal('teams')])
const WebhookEventSchema = Type.Union([
  Type.Literal('build.created'), Type.Literal('build.deleted'), Type.Literal('device.enrolled'), Type.Literal('install.started'), Type.Literal('install.completed'),
])
const ChannelSchema = Type.Union([Type.Literal('email'), Type.Literal('sms'), Type.Literal('webhook')])
const DeliveryStatusSchema = Type.Union([Type.Literal('pending'), Type.Literal('sending'), Type.Literal('delivered'), Type.Literal('failed'), Type.Literal('cancelled')])
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never
export const SCHEMAS_MATCH_RECORDS: [
  Same<Static<typeof NotifyOnUploadSchema>, NotifyOnUpload>,
  Same<Static<typeof WebhookFormatSchema>, WebhookFormat>,
  Same<Static<typeof WebhookEventSchema>, WebhookEvent>,
  Same<Static<typeof ChannelSchema>, Channel>,
  Same<Static<typeof DeliveryStatusSchema>, DeliveryStatus>,
] = [true, true, true, true, true]

const Id = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

/** `?notify=true` on an upload (a multipart field "notify" works too): notify the app's testers. */
export const NotifyQuery = Type.Object({
  notify: Type.Optional(Type.Boolean({ description: "true: notify the app's testers; false: don't; absent: the app's notifyOnUpload" })),
})

/** A multipart "notify" field: true/false, 1/0, yes/no, on/off. */
export function parseNotifyField(value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value.trim())) return true
  if (/^(0|false|no|off)$/i.test(value.trim())) return false
  throw new AirstripError('bad-request', 'the "notify" field must be true or false')
}

export const IdParam = Type.Object({ id: Id })
export const GroupMemberParams = Type.Object({ id: Id, testerId: Id })
/** An app id, or a bundle id (so an app can be set up before its first upload). */
export const AppRefParams = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9._-]{1,255}$', description: 'app id or bundle id' }) })

export const Tester = Type.Object({
  id: Type.String(),
  name: Type.String(),
  email: Type.String(),
  phone: Nullable(Type.String()),
  groupIds: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
})

export const NewTesterBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    email: Type.String({ minLength: 3, maxLength: 254 }),
    phone: Type.Optional(Nullable(Type.String({ maxLength: 40, description: 'international form, e.g. +447700900123' }))),
  },
  { additionalProperties: false },
)
export const TesterPatchBody = Type.Partial(NewTesterBody, { additionalProperties: false, minProperties: 1 })

export const Group = Type.Object({ id: Type.String(), name: Type.String(), testerIds: Type.Array(Type.String()), createdAt: Type.String() })
export const NewGroupBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false })

export const AppNotifications = Type.Object({
  bundleId: Type.String(),
  notifyOnUpload: NotifyOnUploadSchema,
  testerIds: Type.Array(Type.String()),
  groupIds: Type.Array(Type.String()),
})
const IdList = Type.Array(Id, { maxItems: 10_000 })
export const AppNotificationsPatch = Type.Object(
  {
    notifyOnUpload: Type.Optional(NotifyOnUploadSchema),
    testerIds: Type.Optional(IdList),
    groupIds: Type.Optional(IdList),
    addTesterIds: Type.Optional(IdList),
    removeTesterIds: Type.Optional(IdList),
    addGroupIds: Type.Optional(IdList),
    removeGroupIds: Type.Optional(IdList),
  },
  { additionalProperties: false, description: 'testerIds/groupIds replace the sets; add…/remove… edit them' },
)

export const Webhook = Type.Object({
  id: Type.String(),
  bundleId: Type.String(),
  url: Type.String(),
  format: WebhookFormatSchema,
  events: Type.Array(WebhookEventSchema),
  createdAt: Type.String(),
})
export const NewWebhookBody = Type.Object(
  {
    url: Type.String({ minLength: 8, maxLength: 2048 }),
    format: Type.Optional(WebhookFormatSchema),
    events: Type.Optional(Type.Array(WebhookEventSchema, { minItems: 1, maxItems: WEBHOOK_EVENTS.length })),
  },
  { additionalProperties: false },
)
/** The secret appears in this answer only (it is stored encrypted and never shown again). */
export const CreatedWebhook = Type.Composite([Webhook, Type.Object({ secret: Type.String({ description: 'HMAC key for X-Airstrip-Signature; shown once' }) })])

export const Delivery = Type.Object({
  id: Type.String(),
  eventId: Type.String(),
  eventType: Type.String(),
  subjectId: Type.String(),
  bundleId: Nullable(Type.String()),
  channel: ChannelSchema,
  recipient: Type.String(),
  testerId: Nullable(Type.String()),
  webhookId: Nullable(Type.String()),
  status: DeliveryStatusSchema,
  attempts: Type.Integer(),
  nextAttemptAt: Type.String(),
  lastError: Nullable(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  deliveredAt: Nullable(Type.String()),
})
export const DeliveryList = Type.Object({ deliveries: Type.Array(Delivery), nextCursor: Nullable(Type.String()) })
export const DeliveryQuery = Type.Object({
  status: Type.Optional(DeliveryStatusSchema),
  channel: Type.Optional(ChannelSchema),
  buildId: Type.Optional(Type.String({ maxLength: 200, description: 'deliveries of one build (or subject)' })),
  appId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]{1,255}$', description: 'app id or bundle id' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 400 })),
})

export type NewTesterBody = Static<typeof NewTesterBody>
