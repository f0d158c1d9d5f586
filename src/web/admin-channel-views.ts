import type { Services } from '../app.ts'
import { ACCESS_MODES, CHANNEL_ACCESS } from '../access/access-policy.ts'
import type { InstallCounts } from '../store/analytics.ts'
import type { AppRecord } from '../store/records.ts'
import { adminBase, timeAgo } from './admin-views.ts'

/**
 * What the app page shows of channels, access to install, personal links and install analytics
 * (the stores of src/channels and src/store/access.ts, analytics.ts): labels and form targets only.
 */

export const ACCESS_LABELS: Readonly<Record<string, string>> = {
  inherit: 'as the app',
  public: 'public: anyone with the link',
  password: 'password: the page asks once',
  invite: 'invite-only: personal links',
}

export interface AppChannelsView {
  appAccess: string
  accessModes: Array<{ mode: string; label: string }>
  accessAction: string
  channels: Array<{ name: string; url: string; builds: number; access: string; retention: string }>
  channelAction: string
  invites: Array<{ id: string; tester: string; scope: string; created: string; lastUsed: string; revoked: boolean; revokeUrl: string }>
  inviteAction: string
  testers: Array<{ id: string; label: string }>
  analytics: { totals: InstallCounts; testers: Array<InstallCounts & { name: string }> }
  retentionAction: string
}

export async function appChannelsView(services: Services, app: AppRecord): Promise<AppChannelsView> {
  const { access, analytics } = services
  const base = `${adminBase(services)}/apps/${app.id}`
  const [mode, channels, grants, testers, counts] = await Promise.all([
    access.channels.getAppAccess(app.bundleId),
    access.channels.listChannels(app.bundleId),
    access.grants.listGrants({ bundleId: app.bundleId, kind: 'invite' }),
    services.notifications.store.listTesters(),
    analytics.store.appCounts(app.bundleId),
  ])
  return {
    appAccess: mode,
    accessModes: ACCESS_MODES.map((m) => ({ mode: m, label: ACCESS_LABELS[m] ?? m })),
    accessAction: `${base}/access`,
    channels: channels.map((c) => ({
      name: c.name,
      url: `${base}/channels/${c.name}`,
      builds: c.buildCount,
      access: ACCESS_LABELS[c.access] ?? c.access,
      retention: retentionLabel(c.retention),
    })),
    channelAction: `${base}/channels`,
    invites: grants.map((g) => ({
      id: g.id,
      tester: g.tester ? `${g.tester.name} <${g.tester.email}>` : 'a deleted tester',
      scope: g.channel ?? 'every channel',
      created: timeAgo(services, g.createdAt),
      lastUsed: g.lastUsedAt ? timeAgo(services, g.lastUsedAt) : 'never',
      revoked: g.revokedAt !== null || (g.expiresAt !== null && Date.parse(g.expiresAt) <= services.now().getTime()),
      revokeUrl: `${base}/invites/${g.id}/revoke`,
    })),
    inviteAction: `${base}/invites`,
    testers: testers.map((t) => ({ id: t.id, label: `${t.name} <${t.email}>` })),
    analytics: { totals: counts.totals, testers: counts.testers.map((t) => ({ ...t, name: t.name ? `${t.name} <${t.email}>` : 'a deleted tester' })) },
    retentionAction: `${base}/retention`,
  }
}

export function retentionLabel(policy: { keepLast: number | null; maxAgeDays: number | null }): string {
  const rules = [policy.keepLast !== null ? `last ${policy.keepLast}` : null, policy.maxAgeDays !== null ? `newer than ${policy.maxAgeDays} days` : null].filter(Boolean)
  return rules.length ? `keep ${rules.join(' and ')}` : 'keep everything'
}

export const CHANNEL_ACCESS_CHOICES = CHANNEL_ACCESS.map((mode) => ({ mode, label: ACCESS_LABELS[mode] ?? mode }))
