/**
 * Who may do what in the admin UI. Three roles, ordered: a viewer reads; a developer also uploads
 * and manages apps, builds, channels, testers, devices, webhooks and API tokens; an admin also
 * manages user accounts and settings.
 */
export const ROLES = ['admin', 'developer', 'viewer'] as const
export type Role = (typeof ROLES)[number]

export const PERMISSIONS = {
  /** See everything in the admin UI (never secrets: tokens and webhook secrets are shown once). */
  read: ['admin', 'developer', 'viewer'],
  /** Upload, delete builds, edit channels and access, testers, groups, devices, webhooks, API tokens. */
  manage: ['admin', 'developer'],
  /** User accounts, server-wide settings. */
  administer: ['admin'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value)
}

export function can(role: Role, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(role)
}

/** What each role means, for the users page. */
export const ROLE_LABELS: Readonly<Record<Role, string>> = {
  admin: 'Admin: everything, including users and settings',
  developer: 'Developer: uploads and manages apps, testers, devices, webhooks and tokens',
  viewer: 'Viewer: reads',
}
