import type { AccessService } from '../channels/access-service.ts'
import type { BuildRecord } from '../store/records.ts'

/** A tester's own link to a build's page, and the grant behind it (revoked if the message never went out). */
export interface PersonalLink {
  url: string
  grantId: string
}

/**
 * The link a tester's message carries when the build's access is per tester (`invite`): a new
 * personal link to that build's page, minted for this message. Only a hash of an invite's secret is
 * stored, so a tester's earlier link cannot be written into a mail again; hence one grant per sent
 * message. Null for public and password builds: their shared page is the right link (a password
 * page asks for the password).
 */
export async function personalLinkFor(
  access: Pick<AccessService, 'policyFor' | 'invite'>,
  build: Pick<BuildRecord, 'id' | 'bundleId' | 'channel'>,
  testerId: string,
): Promise<PersonalLink | null> {
  const policy = await access.policyFor(build)
  if (policy.mode !== 'invite') return null
  // Scoped to the build's channel (never wider than what the message is about).
  const { grant, url } = await access.invite(build.bundleId, build.channel, testerId)
  return { url: `${url}/${build.id}`, grantId: grant.id }
}
