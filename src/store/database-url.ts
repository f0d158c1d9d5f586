/**
 * True for a `postgres://` or `postgresql://` connection URL (what selects PostgreSQL over SQLite).
 * On its own so that choosing the engine does not load `pg` (SQLite installations never need it).
 */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location)
}
