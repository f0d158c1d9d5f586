import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { freeLoopbackPorts } from './ports.ts'
import { onePerFile, retryOnce } from './shared-process.ts'

/**
 * A throw-away PostgreSQL for tests: `initdb` into a temp dir, `postgres` on a free loopback port
 * as a child process, one fresh database per `createDatabase()`, everything removed afterwards.
 * With AIRSTRIP_TEST_PG_URL set (a superuser URL of an existing server) that server is used
 * instead and nothing is started.
 */
export interface PostgresServer {
  /** Creates an empty database and returns its URL. */
  createDatabase(): Promise<string>
  /** The URL of an existing database on this server. */
  urlOf(database: string): string
  stop(): Promise<void>
}

/** Where Debian puts the server binaries (they are not on PATH): the newest version wins. */
function findBinDir(): string | null {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' })
  if (fromConfig.status === 0 && existsSync(join(fromConfig.stdout.trim(), 'initdb'))) return fromConfig.stdout.trim()
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return null
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a))
  return versions[0] ? join(root, versions[0], 'bin') : null
}

/** Why PostgreSQL tests cannot run here, or null when they can. */
export function postgresUnavailable(): string | null {
  if (process.env['AIRSTRIP_TEST_PG_URL']) return null
  if (findBinDir() === null) return 'PostgreSQL server binaries not found (apt-get install postgresql, or set AIRSTRIP_TEST_PG_URL): PostgreSQL adapters skipped'
  if (process.getuid?.() === 0 && unixUser('postgres') === null) return 'running as root and there is no "postgres" user to run initdb as: PostgreSQL adapters skipped'
  return null
}

/** One server per test file (process), started on first use and stopped when the file's tests end. */
export const sharedPostgres = onePerFile<PostgresServer>(() =>
  process.env['AIRSTRIP_TEST_PG_URL'] ? Promise.resolve(externalServer(process.env['AIRSTRIP_TEST_PG_URL'])) : startPostgres(),
)

let databaseCount = 0

/** Starts a private cluster: ~0.5 s initdb + ~0.3 s start. */
export function startPostgres(): Promise<PostgresServer> {
  // The free port may have been taken before the server bound it: once more, on another.
  return retryOnce(startPostgresOnce, 'retrying on another port')
}

async function startPostgresOnce(): Promise<PostgresServer> {
  const binDir = findBinDir()
  if (!binDir) throw new Error(postgresUnavailable() ?? 'no PostgreSQL')
  const dir = mkdtempSync(join(tmpdir(), 'airstrip-pg-'))
  // initdb refuses to run as root: run the server binaries as the postgres user then.
  const owner = process.getuid?.() === 0 ? unixUser('postgres') : null
  if (owner) chownSync(dir, owner.uid, owner.gid)
  const asOwner = owner ? { uid: owner.uid, gid: owner.gid } : {}
  const dataDir = join(dir, 'data')
  const init = spawnSync(join(binDir, 'initdb'), ['-D', dataDir, '-U', 'airstrip', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], { ...asOwner, encoding: 'utf8' })
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`initdb failed: ${init.stderr || init.error}`)
  }
  const [port] = await freeLoopbackPorts(1)
  // Durability is pointless for a throw-away cluster: fsync off makes CREATE DATABASE and commits cheap.
  const settings = { listen_addresses: '127.0.0.1', port: String(port), unix_socket_directories: dir, fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off', max_connections: '200' }
  const args = ['-D', dataDir, ...Object.entries(settings).flatMap(([key, value]) => ['-c', `${key}=${value}`])]
  const child = spawn(join(binDir, 'postgres'), args, { ...asOwner, stdio: ['ignore', 'ignore', 'pipe'] })
  const killOnExit = () => child.kill('SIGKILL')
  process.on('exit', killOnExit)
  const cleanUp = () => {
    process.off('exit', killOnExit)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    await waitUntilReady(child)
  } catch (error) {
    child.kill('SIGKILL')
    cleanUp()
    throw error
  }
  const admin = `postgres://airstrip@127.0.0.1:${port}/postgres`
  const server = serverOn(admin)
  return {
    ...server,
    async stop() {
      // SIGINT = "fast" shutdown: disconnect clients, no checkpoint wait worth speaking of.
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.kill('SIGINT')
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      }
      cleanUp()
    },
  }
}

function externalServer(adminUrl: string): PostgresServer {
  const server = serverOn(adminUrl)
  const created: string[] = []
  return {
    urlOf: server.urlOf,
    async createDatabase() {
      const url = await server.createDatabase()
      created.push(new URL(url).pathname.slice(1))
      return url
    },
    async stop() {
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        for (const name of created) await client.query(`drop database if exists "${name}" with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

function serverOn(adminUrl: string): Omit<PostgresServer, 'stop'> {
  const urlOf = (database: string): string => {
    const url = new URL(adminUrl)
    url.pathname = `/${database}`
    return url.toString()
  }
  return {
    urlOf,
    async createDatabase() {
      const name = `airstrip_test_${process.pid}_${++databaseCount}_${Date.now().toString(36)}`
      const client = new pg.Client({ connectionString: adminUrl })
      await client.connect()
      try {
        await client.query(`create database "${name}"`)
      } finally {
        await client.end()
      }
      return urlOf(name)
    },
  }
}

/** Resolves once the server logs that it accepts connections; rejects with its log if it exits first. */
function waitUntilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = ''
    const timer = setTimeout(() => fail(new Error(`PostgreSQL did not start within 30 s:\n${log}`)), 30_000)
    const fail = (error: Error) => {
      clearTimeout(timer)
      reject(error)
    }
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (text: string) => {
      if (log.length < 20_000) log += text
      if (log.includes('ready to accept connections')) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', fail)
    child.once('exit', (code, signal) => fail(new Error(`PostgreSQL exited (${code ?? signal}) while starting:\n${log}`)))
  })
}

function unixUser(name: string): { uid: number; gid: number } | null {
  try {
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((entry) => entry.startsWith(`${name}:`))
    const [, , uid, gid] = line?.split(':') ?? []
    return uid && gid ? { uid: Number(uid), gid: Number(gid) } : null
  } catch {
    return null
  }
}
