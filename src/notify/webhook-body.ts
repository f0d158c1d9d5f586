import type { WebhookFormat } from '../store/notification-records.ts'
import {
  buildTitle,
  cleanLine,
  cleanNotes,
  type BuildCreatedData,
  type BuildDeletedData,
  type DeviceEnrolledData,
  type WebhookEnvelope,
} from './event-payloads.ts'

/**
 * The body of a webhook delivery, by format:
 * - `json`: Airstrip's envelope `{ id, type, createdAt, data }` (what `X-Airstrip-Signature` signs);
 * - `slack`: an incoming-webhook message `{ text, blocks }` (Block Kit; `text` is the fallback);
 * - `teams`: a Workflows ("Post to a channel when a webhook request is received") message with one
 *   Adaptive Card attachment — the shape that replaced Office 365 connectors' MessageCard.
 * Deterministic: every retry of a delivery sends the same bytes.
 */
export function buildWebhookBody(format: WebhookFormat, event: WebhookEnvelope): string {
  if (format === 'json') return JSON.stringify(event)
  const summary = summarize(event)
  return JSON.stringify(format === 'slack' ? slackMessage(summary) : teamsMessage(summary))
}

interface Summary {
  headline: string
  details: string | null
  link: { title: string; url: string } | null
}

function summarize(event: WebhookEnvelope): Summary {
  if (event.type === 'build.created') {
    const data = event.data as BuildCreatedData
    const notes = cleanNotes(data.build.notes, 1500)
    return {
      headline: `${buildTitle(data.app.name, data.build.version, data.build.build)} is ready to install`,
      details: notes,
      link: { title: 'Install', url: data.installPageUrl },
    }
  }
  if (event.type === 'build.deleted') {
    const data = event.data as BuildDeletedData
    return { headline: `${buildTitle(data.app.name, data.build.version, data.build.build)} was deleted`, details: null, link: null }
  }
  if (event.type === 'device.enrolled') {
    const data = event.data as DeviceEnrolledData
    const device = [data.device.name, data.device.model, data.device.osVersion ? `iOS ${data.device.osVersion}` : null].filter(Boolean).map((s) => cleanLine(s!)).join(', ')
    return { headline: `A device enrolled${data.app ? ` for ${cleanLine(data.app.name)}` : ''}: ${device || cleanLine(data.device.udid)}`, details: `UDID ${cleanLine(data.device.udid)}`, link: null }
  }
  if (event.type === 'install.started' || event.type === 'install.completed') {
    // src/channels/install-analytics.ts (InstallEventData)
    const data = event.data as { app: { name: string }; build: { version: string | null; build: string | null; channel: string }; tester: { name: string } | null }
    const who = data.tester ? cleanLine(data.tester.name) : 'Someone'
    const what = `${buildTitle(data.app.name, data.build.version, data.build.build)}${data.build.channel === 'main' ? '' : ` (${cleanLine(data.build.channel)})`}`
    return { headline: `${who} ${event.type === 'install.started' ? 'started installing' : 'downloaded'} ${what}`, details: null, link: null }
  }
  return { headline: `Airstrip event ${cleanLine(event.type)}`, details: null, link: null }
}

/** Slack mrkdwn treats &, < and > as control characters: escape exactly those. */
function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function slackMessage(summary: Summary): unknown {
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: `*${slackEscape(summary.headline)}*` } }]
  if (summary.details) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: slackEscape(summary.details) } })
  if (summary.link) {
    blocks.push({ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: summary.link.title }, url: summary.link.url }] })
  }
  const fallback = summary.link ? `${summary.headline}: ${summary.link.url}` : summary.headline
  return { text: slackEscape(fallback), blocks }
}

function teamsMessage(summary: Summary): unknown {
  const body: unknown[] = [{ type: 'TextBlock', text: summary.headline, weight: 'Bolder', size: 'Medium', wrap: true }]
  if (summary.details) body.push({ type: 'TextBlock', text: summary.details, wrap: true })
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(summary.link ? { actions: [{ type: 'Action.OpenUrl', title: summary.link.title, url: summary.link.url }] } : {}),
        },
      },
    ],
  }
}
