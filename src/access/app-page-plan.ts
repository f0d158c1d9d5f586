import type { AccessMode, AccessScope } from './access-policy.ts'
import { DEFAULT_CHANNEL } from './channel-name.ts'

/** One channel as the app page weighs it. */
export interface ChannelView {
  name: string
  mode: AccessMode
  /** The scope whose password opens it (password mode). */
  source: AccessScope
  /** The visitor may see it: public, unlocked with its password, or covered by their invite. */
  open: boolean
  latestBuildId: string | null
}

export type AppPagePlan =
  /** Show `hero` (a build of `heroChannel`) and list `listed` (open and locked-by-password channels). */
  | { kind: 'show'; heroChannel: string; heroBuildId: string; listed: ChannelView[] }
  /** Nothing open yet, but a password would open something: ask for the password of `scope`. */
  | { kind: 'password'; scope: AccessScope }
  /** Nothing this visitor may see. */
  | { kind: 'denied' }

/**
 * What the app page shows a visitor: the newest build of the preferred channel ("main", else the
 * first open one by name) with the list of channels. Invite-only channels the visitor has no
 * invite for are left out entirely (their existence is nobody else's business); password channels
 * are listed as locked. With nothing open: the password form of the first locked scope (the app's
 * own password when it has one), else a denial.
 */
export function planAppPage(channels: ReadonlyArray<ChannelView>, preferred = DEFAULT_CHANNEL): AppPagePlan {
  const withBuilds = channels.filter((channel) => channel.latestBuildId !== null)
  const open = withBuilds.filter((channel) => channel.open)
  const listed = withBuilds.filter((channel) => channel.open || channel.mode === 'password')
  const hero = open.find((channel) => channel.name === preferred) ?? [...open].sort((a, b) => a.name.localeCompare(b.name))[0]
  if (hero?.latestBuildId) return { kind: 'show', heroChannel: hero.name, heroBuildId: hero.latestBuildId, listed }
  const locked = withBuilds.filter((channel) => channel.mode === 'password')
  const scope = locked.find((channel) => channel.source.channel === null)?.source ?? locked.find((channel) => channel.name === preferred)?.source ?? locked[0]?.source
  return scope ? { kind: 'password', scope } : { kind: 'denied' }
}
