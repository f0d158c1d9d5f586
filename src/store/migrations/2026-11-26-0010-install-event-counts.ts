import type { Kysely, Migration } from 'kysely'

/**
 * Install events carry a count: the events of one write batch that are alike (same build, tester,
 * grant and kind) become one row, so a burst of manifest fetches for one build costs one INSERT per
 * batch instead of one row each (src/store/analytics.ts). Rows written before count once.
 */
export const installEventCounts: Migration = {
  async up(db: Kysely<any>): Promise<void> {
    await db.schema.alterTable('install_events').addColumn('count', 'integer', (c) => c.notNull().defaultTo(1)).execute()
  },
}
