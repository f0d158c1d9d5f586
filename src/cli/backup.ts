import type { Command } from 'commander'
import { loadConfig, type Config, type RawSettings } from '../config.ts'
import { AirstripError } from '../errors.ts'
import { formatBytes, type Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

/**
 * `airstrip backup <file>` (while the server runs) and `airstrip restore <file> --data-dir <dir>`
 * (with the server stopped). Both work on the default storage: SQLite and blobs in the data dir.
 */
export function registerBackup(program: Command, output: Output, env: Record<string, string | undefined>): void {
  addSettingFlags(program.command('backup').description('write a consistent backup of the data dir to one file (safe while the server runs)').argument('<file>', 'the archive to write (a tar file)'), ['dataDir']).action(
    async (file: string, flags: RawSettings) => {
      const config = localStorageOnly(loadConfig(flags, env))
      const { createBackup } = await import('../ops/backup.ts')
      const { openBlobStore } = await import('../store/open-stores.ts')
      const summary = await createBackup({ dataDir: config.dataDir, file, blobs: await openBlobStore(config.storage, config.dataDir) })
      output.stdout.write(`Backed up ${config.dataDir} to ${summary.file} (${formatBytes(summary.archiveBytes)}): the database and ${summary.files - 1} other file(s), ${summary.blobs} build file(s) of ${formatBytes(summary.blobBytes)}.\n`)
    },
  )

  addSettingFlags(
    program
      .command('restore')
      .description('restore a backup into a data dir, checking every hash before anything is replaced (stop the server first)')
      .argument('<file>', 'an archive written by `airstrip backup`')
      .option('--force', 'move a non-empty data dir aside (<dir>.before-restore-<time>) instead of refusing'),
    ['dataDir'],
  ).action(async (file: string, flags: RawSettings & { force?: boolean }) => {
    const config = localStorageOnly(loadConfig(flags, env))
    const { restoreBackup } = await import('../ops/restore.ts')
    const { openBlobStore } = await import('../store/open-stores.ts')
    const summary = await restoreBackup({ file, dataDir: config.dataDir, force: flags.force === true, blobStoreAt: (dir) => openBlobStore(config.storage, dir) })
    if (summary.movedAside) output.stdout.write(`The previous data dir was moved to ${summary.movedAside}.\n`)
    output.stdout.write(`Restored ${summary.files} file(s) and ${summary.blobs} build file(s) (${formatBytes(summary.blobBytes)}) into ${summary.dataDir}; every hash matched.\n`)
  })
}

function localStorageOnly(config: Readonly<Config>): Readonly<Config> {
  if (config.storage.databaseUrl !== null || config.storage.s3 !== null) {
    throw new AirstripError('backup-unsupported', 'with PostgreSQL or S3 configured, back them up with their own tools (pg_dump, bucket versioning); `airstrip backup` covers SQLite and the data dir')
  }
  return config
}
