/**
 * The public data of each event, frozen at enqueue time and stored with it: webhook bodies are
 * built from it, mails and texts render it. Only public facts and the https install page link —
 * never signed manifest/.ipa links (credentials that expire) nor the itms-services link.
 */

export interface AppRef {
  id: string
  bundleId: string
  name: string
}

export interface BuildCreatedData {
  app: AppRef
  build: {
    id: string
    version: string | null
    build: string | null
    size: number
    sha256: string
    notes: string | null
    createdAt: string
  }
  /** The https install page (a desktop visitor gets a QR code there; iOS gets the install button). */
  installPageUrl: string
  appPageUrl: string
}

export interface BuildDeletedData {
  app: AppRef
  build: { id: string; version: string | null; build: string | null; createdAt: string }
  deletedAt: string
}

/** A device that enrolled (see src/devices); fields other than id/udid are optional. */
export interface EnrolledDevice {
  id: string
  udid: string
  name?: string | null | undefined
  model?: string | null | undefined
  osVersion?: string | null | undefined
  enrolledAt: string
}

export interface DeviceEnrolledData {
  device: { id: string; udid: string; name: string | null; model: string | null; osVersion: string | null; enrolledAt: string }
  /** The app the device enrolled for, when it enrolled from an app's page. */
  app: AppRef | null
}

/** Webhook JSON body: `id` is the event's (the same for every delivery of it), `type` its name. */
export interface WebhookEnvelope<T = unknown> {
  id: string
  type: string
  createdAt: string
  data: T
}

/** "MyApp 1.2 (45)", "MyApp 1.2", "MyApp (45)" or "MyApp". */
export function buildTitle(name: string, version: string | null, build: string | null): string {
  return [cleanLine(name), version ? cleanLine(version) : null, build && build !== version ? `(${cleanLine(build)})` : null].filter(Boolean).join(' ')
}

/** One line of untrusted text (it came from an uploaded Info.plist): no control characters, bounded. */
export function cleanLine(text: string, max = 120): string {
  const line = text.replace(/\p{Cc}+/gu, ' ').replace(/\s+/g, ' ').trim()
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

/** Release notes for display: control characters other than newlines and tabs dropped, bounded. */
export function cleanNotes(notes: string | null, max = 5000): string | null {
  if (!notes) return null
  const text = notes.replace(/\r\n?/g, '\n').replace(/[^\P{Cc}\n\t]/gu, '').trim()
  if (text === '') return null
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}
