import { AirstripError } from '../errors.ts'
import type { MetaStore } from '../store/meta-store.ts'
import { isId } from '../store/new-id.ts'

/**
 * The bundle id an API path names: an app id (22 characters, from `GET /api/v1/apps`) or a bundle
 * id itself (it has a dot; allowed so an app can be set up before its first upload, and because
 * notification settings are keyed by bundle id and survive the app's deletion and re-creation).
 */
export async function resolveBundleId(meta: Pick<MetaStore, 'getApp'>, ref: string): Promise<string> {
  if (isId(ref)) {
    const app = await meta.getApp(ref)
    if (app) return app.bundleId
  }
  if (/^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/.test(ref)) return ref
  throw new AirstripError('app-not-found', `no app with id ${JSON.stringify(ref)} (use an app id or a bundle id)`)
}
