import type { Config } from '../config.ts'
import { judgeGrant, type AccessMode, type AccessScope, type ChannelAccess, type EffectivePolicy } from '../access/access-policy.ts'
import { createMemoryAttemptLimiter, type AttemptLimiter, type AttemptLimiterOptions } from '../access/attempt-limiter.ts'
import { hashPassword, verifyPassword } from '../access/password-hash.ts'
import { readCookie } from '../devices/device-cookie.ts'
import { AirstripError } from '../errors.ts'
import { itmsServicesUrl } from '../ota/itms-link.ts'
import { manifestOfBuild } from '../ota/manifest.ts'
import { ipaFileName, type PublicUrls } from '../ota/public-urls.ts'
import type { TokenPurpose, UrlSigner } from '../ota/url-token.ts'
import type { AccessStore, GrantRecord } from '../store/access.ts'
import type { ChannelPatch, ChannelRecord, ChannelStore } from '../store/channels.ts'
import type { BuildRecord } from '../store/records.ts'
import type { NotificationStore } from '../store/notifications.ts'

/** Wrong passwords: per scope and client address, and per scope from everywhere, per minute. */
const ATTEMPTS_PER_CLIENT = 5
const ATTEMPTS_PER_SCOPE = 30
/** The page cookie a right password sets lives at most this long (and never longer than the link TTL). */
const UNLOCK_COOKIE_MAX_SECONDS = 60 * 60

export interface AccessLinks {
  manifestUrl: string
  ipaUrl: string
  iconUrl: string | null
  itmsServicesUrl: string
  expiresAt: string
}

export interface AccessServiceDeps {
  channels: ChannelStore
  grants: AccessStore
  testers: Pick<NotificationStore, 'getTester'>
  signer: UrlSigner
  urls: PublicUrls
  config: Pick<Config, 'linkTtlSeconds' | 'tls'>
  now: () => Date
  /** Where wrong-password counters live (src/store/password-attempts.ts: the database when instances share PostgreSQL); default in memory. */
  attemptLimiter?: ((options: AttemptLimiterOptions) => AttemptLimiter) | undefined
}

/**
 * Access to install as the server and the CLI use it: settings, personal links, the password gate,
 * and the check behind every page, manifest, .ipa and icon request minted under a grant. Decisions
 * come from src/access; facts from the stores, read on every request (no cache): a revocation, a
 * deleted tester or a changed mode takes effect at once, on every instance sharing the database,
 * whichever way it was written. Settings with a password go through `setAppAccess`/`updateChannel`
 * (the password is hashed and becomes a grant); the stores are exposed for reads.
 */
export interface AccessService {
  readonly channels: ChannelStore
  readonly grants: AccessStore
  /** The mode that applies to a build, and where it is defined. */
  policyFor(build: Pick<BuildRecord, 'bundleId' | 'channel'>): Promise<EffectivePolicy>
  /** The grant, if it still opens `build`; else `access-revoked` (410) or `access-denied` (403). */
  requireGrant(grantId: string, build: Pick<BuildRecord, 'bundleId' | 'channel'>): Promise<GrantRecord>
  /** Sets the app's own mode; `password` needs a password (given now, or set before). */
  setAppAccess(bundleId: string, mode: AccessMode, password?: string): Promise<AccessMode>
  /** Creates or changes a channel; `password` (with access 'password') sets its password. */
  updateChannel(bundleId: string, name: string, patch: ChannelPatch & { password?: string | undefined }): Promise<ChannelRecord>
  /** A personal link for a tester (id or e-mail) to the app (`channel` null) or one channel; the URL is shown once. */
  invite(bundleId: string, channel: string | null, testerRef: string, options?: { expiresAt?: string | null }): Promise<{ grant: GrantRecord; url: string }>
  revokeGrant(id: string): Promise<boolean>
  /** Revokes every personal link of a tester for an app. */
  revokeTester(bundleId: string, testerRef: string): Promise<number>
  /** The live invite behind a personal link; `access-denied` for an unknown one, `access-revoked` for a withdrawn one. */
  openInvite(secret: string): Promise<GrantRecord>
  /** The password grant this visitor unlocked for `scope` (page cookie), or null. */
  unlockedGrant(cookieHeader: string | undefined, scope: AccessScope): Promise<GrantRecord | null>
  /**
   * Checks a password for a scope. Right: the Set-Cookie header for the page. Wrong: `access-denied`;
   * too many wrong ones: `too-many-attempts` with `details.retryAfter` seconds.
   */
  unlock(scope: AccessScope, password: string, client: string): Promise<{ setCookie: string }>
  /** Fresh links for a build, bound to `grant` when given (and expiring with it when it expires sooner). */
  mintLinks(build: BuildRecord, grant: GrantRecord | null): AccessLinks
  /** A personal link's URL, optionally to one build's page under it. */
  inviteUrl(secret: string, buildId?: string): string
  /**
   * The manifest behind a link minted under a grant: its .ipa and icon links carry the same grant
   * and expire with the manifest link. Never cached (the grant is part of it) and never a presigned
   * object-store URL, which could not be revoked.
   */
  grantManifest(build: BuildRecord, grantId: string, expiresAt: Date): Buffer
}

export function createAccessService(deps: AccessServiceDeps): AccessService {
  const { channels, grants, signer, urls, config, now } = deps
  const limiter = deps.attemptLimiter ?? ((options: AttemptLimiterOptions) => createMemoryAttemptLimiter({ ...options, now }))
  const perClient = limiter({ name: 'password-gate-client', max: ATTEMPTS_PER_CLIENT, windowMs: 60_000 })
  const perScope = limiter({ name: 'password-gate-scope', max: ATTEMPTS_PER_SCOPE, windowMs: 60_000 })
  const scopeKey = (scope: AccessScope): string => `${scope.bundleId}\n${scope.channel ?? ''}`
  const cookieName = (grantId: string): string => `airstrip_grant_${grantId}`

  const findTester = async (ref: string): Promise<string> => {
    const tester = await deps.testers.getTester(ref)
    if (!tester) throw new AirstripError('tester-not-found', `no tester with id or e-mail ${JSON.stringify(ref)}`)
    return tester.id
  }
  const setPasswordMode = async (scope: AccessScope, mode: AccessMode | ChannelAccess, password: string | undefined): Promise<void> => {
    if (password !== undefined && mode !== 'password') throw new AirstripError('bad-request', 'a password only goes with access "password"')
    if (mode === 'password') {
      if (password !== undefined) await grants.setPassword(scope, await hashPassword(password))
      else if (!(await grants.passwordGrant(scope))) throw new AirstripError('bad-request', 'access "password" needs a password')
    } else {
      // Leaving password mode: links minted under the old password stop now, and come back only with a new one.
      await grants.clearPassword(scope)
    }
  }

  const service: AccessService = {
    channels,
    grants,

    policyFor: (build) => channels.effectivePolicy(build.bundleId, build.channel),

    async requireGrant(grantId, build) {
      const [grant, policy] = await Promise.all([grants.getGrant(grantId), service.policyFor(build)])
      const decision = judgeGrant(grant, policy, build, now())
      if (!decision.ok) throw new AirstripError(decision.outcome === 'revoked' ? 'access-revoked' : 'access-denied', decision.reason)
      return grant!
    },

    async setAppAccess(bundleId, mode, password) {
      await setPasswordMode({ bundleId, channel: null }, mode, password)
      return channels.setAppAccess(bundleId, mode)
    },

    async updateChannel(bundleId, name, patch) {
      const { password, ...settings } = patch
      const mode = settings.access ?? (await channels.getChannel(bundleId, name))?.access ?? 'inherit'
      if (settings.access !== undefined || password !== undefined) await setPasswordMode({ bundleId, channel: name }, mode, password)
      return channels.updateChannel(bundleId, name, settings)
    },

    async invite(bundleId, channel, testerRef, options = {}) {
      if (channel !== null && !(await channels.getChannel(bundleId, channel))) throw new AirstripError('channel-not-found', `app ${bundleId} has no channel ${JSON.stringify(channel)}`)
      const { grant, secret } = await grants.createInvite({ scope: { bundleId, channel }, testerId: await findTester(testerRef), expiresAt: options.expiresAt ?? null })
      return { grant, url: service.inviteUrl(secret) }
    },

    revokeGrant: (id) => grants.revokeGrant(id),
    revokeTester: async (bundleId, testerRef) => grants.revokeTesterGrants(bundleId, await findTester(testerRef)),

    async openInvite(secret) {
      const grant = await grants.findInvite(secret)
      if (!grant) throw new AirstripError('access-denied', 'this personal link is not valid; ask for a new one')
      if (grant.revokedAt !== null) throw new AirstripError('access-revoked', 'this personal link has been revoked; ask for a new one')
      if (grant.expiresAt !== null && Date.parse(grant.expiresAt) <= now().getTime()) throw new AirstripError('access-revoked', 'this personal link has expired; ask for a new one')
      return grant
    },

    async unlockedGrant(cookieHeader, scope) {
      const current = await grants.passwordGrant(scope)
      if (!current) return null
      const token = readCookie(cookieHeader, cookieName(current.grant.id))
      if (!token) return null
      try {
        return signer.verify(token, 'page').subject === current.grant.id ? current.grant : null
      } catch {
        return null
      }
    },

    async unlock(scope, password, client) {
      const key = scopeKey(scope)
      const clientKey = `${key}\n${client}`
      // Counted before the (slow) check and given back when right: simultaneous guesses cannot pass together.
      let wait = await perClient.attempt(clientKey)
      if (wait === 0) {
        wait = await perScope.attempt(key)
        if (wait > 0) await perClient.forgive(clientKey)
      }
      if (wait > 0) throw new AirstripError('too-many-attempts', `too many wrong passwords; try again in ${wait} s`, { details: { retryAfter: wait } })
      const current = await grants.passwordGrant(scope)
      if (!current || !(await verifyPassword(password, current.passwordHash))) throw new AirstripError('access-denied', 'wrong password')
      await Promise.all([perClient.reset(clientKey), perScope.forgive(key)])
      const ttlSeconds = Math.min(config.linkTtlSeconds, UNLOCK_COOKIE_MAX_SECONDS)
      const value = signer.sign({ purpose: 'page', subject: current.grant.id, ttlSeconds })
      const secure = config.tls.mode !== 'insecure-http' ? '; Secure' : ''
      return { setCookie: `${cookieName(current.grant.id)}=${value}; Path=${urls.basePath || ''}/; Max-Age=${ttlSeconds}; HttpOnly; SameSite=Lax${secure}` }
    },

    mintLinks(build, grant) {
      const remaining = grant?.expiresAt ? Math.floor((Date.parse(grant.expiresAt) - now().getTime()) / 1000) : Infinity
      const ttlSeconds = Math.max(1, Math.min(config.linkTtlSeconds, remaining))
      const sign = (purpose: TokenPurpose): string => signer.sign({ purpose, subject: build.id, ttlSeconds, ...(grant ? { grant: grant.id } : {}) })
      const manifestUrl = urls.manifest(sign('manifest'))
      return {
        manifestUrl,
        ipaUrl: urls.ipa(sign('ipa'), ipaFileName(build.name, build.version)),
        iconUrl: build.iconSha256 ? urls.icon(sign('icon')) : null,
        itmsServicesUrl: itmsServicesUrl(manifestUrl, { allowHttp: config.tls.mode === 'insecure-http' }),
        expiresAt: new Date(now().getTime() + ttlSeconds * 1000).toISOString(),
      }
    },

    inviteUrl: (secret, buildId) => `${urls.home()}t/${secret}${buildId ? `/${buildId}` : ''}`,

    grantManifest(build, grantId, expiresAt) {
      const ttlSeconds = Math.max(1, Math.min(config.linkTtlSeconds, Math.floor((expiresAt.getTime() - now().getTime()) / 1000)))
      const sign = (purpose: TokenPurpose): string => signer.sign({ purpose, subject: build.id, ttlSeconds, grant: grantId })
      // Always proxied, never a presigned object-store URL: revoking the grant must stop the download too.
      return manifestOfBuild(build, {
        ipaUrl: urls.ipa(sign('ipa'), ipaFileName(build.name, build.version)),
        iconUrl: build.iconSha256 ? urls.icon(sign('icon')) : null,
      })
    },
  }
  return service
}
