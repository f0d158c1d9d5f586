import type { Command } from 'commander'
import { loadConfig, type RawSettings } from '../config.ts'
import type { TlsMigrationReport } from '../store/migrate-tls.ts'
import { formatBytes, type Output } from './output.ts'
import { addSettingFlags } from './serve.ts'

const STORAGE_FLAGS = ['dataDir', 'databaseUrl', 's3Bucket', 's3Endpoint', 's3Region', 's3AccessKeyId', 's3SecretAccessKey', 's3PathStyle', 's3Prefix'] as const

/**
 * `airstrip migrate-store`: copies an installation's SQLite database and builds from its data dir
 * into PostgreSQL and/or an S3 bucket (the same settings `serve` takes), verifying every hash.
 * Stop the server first; start it afterwards with the new settings.
 */
export function registerMigrateStore(program: Command, output: Output, env: Record<string, string | undefined>): void {
  const command = program
    .command('migrate-store')
    .description('copy the database and builds of --data-dir into PostgreSQL (--database-url) and/or S3 (--s3-bucket …), verifying every hash')
  addSettingFlags(command, STORAGE_FLAGS).action(async (flags: RawSettings) => {
    const config = loadConfig(flags, env)
    const { migrateStore } = await import('../store/migrate-store.ts')
    const report = await migrateStore(config.dataDir, config.storage, (line) => output.stderr.write(`${line}\n`))
    if (config.storage.databaseUrl) {
      const rows = report.tables.reduce((sum, table) => sum + table.rows, 0)
      output.stdout.write(`database: ${report.tables.length} tables, ${rows} rows copied; keys carried over: ${report.secrets.join(', ') || 'none'}\n`)
      output.stdout.write(`TLS carried over (read back and compared): ${describeTls(report.tls)}\n`)
      for (const reason of report.tls.skipped) output.stderr.write(`TLS not carried over: ${reason}\n`)
    }
    if (config.storage.s3) {
      output.stdout.write(`builds: ${report.blobs.copied} blobs copied (${formatBytes(report.blobs.bytes)}), ${report.blobs.alreadyThere} already there; every hash verified\n`)
    }
  })
}

/** "development CA, development server certificate, ACME account and certificate for ota.example.com (https://…/directory)" */
function describeTls(tls: TlsMigrationReport): string {
  const parts: string[] = tls.devCertificates.map((name) => (name === 'ca' ? 'development CA' : 'development server certificate'))
  for (const acme of tls.acme) {
    const what = [...(acme.account ? ['ACME account'] : []), ...(acme.certificates.length > 0 ? [`certificate for ${acme.certificates.join(', ')}`] : [])]
    parts.push(`${what.join(' and ')} (${acme.directoryUrl})`)
  }
  return parts.join(', ') || 'nothing'
}
