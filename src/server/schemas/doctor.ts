import { Type, type Static } from '@sinclair/typebox'

/** Shapes of `GET /api/v1/doctor`: the same report `airstrip doctor --json` prints. */

export const DoctorQuery = Type.Object({
  build: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,200}$', description: 'build id (default: the latest build)' })),
  udid: Type.Optional(Type.String({ maxLength: 64, description: "also check this device against the build's profile" })),
  ios: Type.Optional(Type.String({ maxLength: 16, description: "also check a device on this iOS version against the app's MinimumOSVersion" })),
})

export const DoctorCheck = Type.Object({
  id: Type.String(),
  title: Type.String(),
  status: Type.Union([Type.Literal('pass'), Type.Literal('fail'), Type.Literal('warn'), Type.Literal('skip')]),
  severity: Type.Union([Type.Literal('error'), Type.Literal('warning'), Type.Literal('info')]),
  message: Type.String(),
  symptom: Type.Union([Type.String(), Type.Null()]),
  fix: Type.Union([Type.String(), Type.Null()]),
  evidence: Type.Record(Type.String(), Type.Unknown()),
})

export const DoctorReportBody = Type.Object({
  target: Type.String(),
  build: Type.String(),
  checks: Type.Array(DoctorCheck),
})
export type DoctorReportBody = Static<typeof DoctorReportBody>
