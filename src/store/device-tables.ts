/**
 * Row shapes of the device tables (migration 2026-11-26-0002), part of `Database` in database.ts.
 * Times are ISO 8601 UTC with milliseconds (text order is time order); booleans are 0/1.
 */

export interface DevicesTable {
  id: string
  udid: string
  /** The team's name for the device (rename); null: use `reported_name`. */
  custom_name: string | null
  /** DEVICE_NAME as the device last reported it. */
  reported_name: string | null
  product: string | null
  model_name: string | null
  family: string
  os_version: string | null
  serial: string | null
  tester: string | null
  signature_verified: number
  chain_verified: number | null
  enrollments: number
  apple_device_id: string | null
  apple_registered_at: string | null
  first_seen_at: string
  last_seen_at: string
}

export interface DeviceInvitesTable {
  id: string
  tester: string
  token_hash: string
  created_at: string
  last_used_at: string | null
}

export interface DeviceEnrollmentsTable {
  id: string
  invite_id: string | null
  challenge_hash: string
  created_at: string
  expires_at: string
  completed_at: string | null
  device_id: string | null
}

export interface DeviceTables {
  devices: DevicesTable
  device_invites: DeviceInvitesTable
  device_enrollments: DeviceEnrollmentsTable
}
