import { createReadStream, createWriteStream } from 'node:fs'
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { MANIFEST_CHUNK_SIZE } from '../builds/ingest-build.ts'
import { AirstripError } from '../errors.ts'
import { inspectIpa } from '../ipa/inspect.ts'
import type { IpaInfo } from '../ipa/types.ts'
import { createChunkedHasher } from '../store/chunked-hasher.ts'
import { fsyncDirectory, isErrno } from '../store/durable-files.ts'
import { deploymentManifest, deploymentPage, parseBaseUrl, planDeployment, type DeploymentDigest, type DeploymentFile, type DeploymentPlan } from './deployment.ts'

export interface ExportOptions {
  ipaPath: string
  /** Where the folder will be served from, e.g. https://cdn.example.com/builds/1.2.3/ */
  baseUrl: string
  outDir: string
  /** Replace a non-empty output folder. */
  force?: boolean
  /** Expiry in the page's problems is judged at this date (default now). */
  now?: Date
}

export interface ExportResult {
  outDir: string
  plan: DeploymentPlan
  info: IpaInfo
  /** The files written, in upload order (the .ipa first, the page last), with their sizes. */
  files: Array<DeploymentFile & { size: number }>
}

/**
 * Writes a self-contained static deployment of one .ipa: the .ipa itself, `manifest.plist`,
 * `icon.png` (when the .ipa has an icon) and `index.html`, every URL absolute under the base URL.
 * The .ipa is copied and hashed (whole file and 10 MiB chunks, for the manifest) in one streaming
 * pass. Everything is written into a temp folder next to the output, fsynced, and renamed into
 * place, so the output is either complete or absent; a non-empty output is replaced only with
 * `force`.
 */
export async function exportDeployment(options: ExportOptions): Promise<ExportResult> {
  const baseUrl = parseBaseUrl(options.baseUrl)
  const outDir = resolve(options.outDir)
  const existing = await outputState(outDir)
  if (existing === 'non-empty' && !options.force) throw new AirstripError('output-not-empty', `${outDir} exists and is not empty (pass --force to replace it)`)
  if (existing === 'file') throw new AirstripError('output-not-empty', `${outDir} is a file, not a folder`)
  const now = options.now ?? new Date()
  const { info, iconPng } = await inspectIpa(options.ipaPath, { now, sha256: null })
  const plan = planDeployment(baseUrl, info, iconPng !== null)

  await mkdir(dirname(outDir), { recursive: true })
  const temp = await mkdtemp(join(dirname(outDir), `.${basename(outDir)}.airstrip-export-`))
  try {
    const digest = await copyAndHash(options.ipaPath, join(temp, plan.files.ipa.name))
    if (digest.size !== info.size) throw new Error(`${options.ipaPath} changed while it was exported`)
    const written: ExportResult['files'] = [{ ...plan.files.ipa, size: digest.size }]
    const put = async (file: DeploymentFile, data: string | Buffer): Promise<void> => {
      await writeFile(join(temp, file.name), data, { flush: true })
      written.push({ ...file, size: Buffer.byteLength(data) })
    }
    if (plan.files.icon && iconPng) await put(plan.files.icon, iconPng)
    await put(plan.files.manifest, deploymentManifest(plan, info, digest))
    await put(plan.files.page, await deploymentPage(plan, info, digest, now))
    // mkdtemp makes the folder 0700; a web server reading the output in place needs to list it.
    await chmod(temp, 0o755)
    await fsyncDirectory(temp)
    await moveIntoPlace(temp, outDir, existing)
    return { outDir, plan, info: { ...info, sha256: digest.sha256 }, files: written }
  } catch (error) {
    await rm(temp, { recursive: true, force: true })
    throw error
  }
}

async function outputState(path: string): Promise<'absent' | 'empty' | 'non-empty' | 'file'> {
  try {
    if (!(await stat(path)).isDirectory()) return 'file'
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return 'absent'
    throw error
  }
  return (await readdir(path)).length === 0 ? 'empty' : 'non-empty'
}

/** Streams the .ipa into the deployment while hashing it; the copy is fsynced when closed. */
async function copyAndHash(from: string, to: string): Promise<DeploymentDigest> {
  const hasher = createChunkedHasher(MANIFEST_CHUNK_SIZE)
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hasher.update(chunk)
      done(null, chunk)
    },
  })
  await pipeline(createReadStream(from, { highWaterMark: 1024 * 1024 }), tap, createWriteStream(to, { flags: 'wx', flush: true }))
  return { ...hasher.digest(), chunkSize: MANIFEST_CHUNK_SIZE }
}

/**
 * rename(2) replaces an empty folder atomically; a non-empty one (with --force) is first moved
 * aside, then deleted once the new folder is in place.
 */
async function moveIntoPlace(temp: string, outDir: string, existing: 'absent' | 'empty' | 'non-empty'): Promise<void> {
  if (existing === 'non-empty') {
    const aside = `${temp}-replaced`
    await rename(outDir, aside)
    await rename(temp, outDir)
    await rm(aside, { recursive: true, force: true })
  } else {
    await rename(temp, outDir)
  }
  await fsyncDirectory(dirname(outDir))
}
