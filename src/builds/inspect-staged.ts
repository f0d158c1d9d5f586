import { inspectSource } from '../ipa/inspect.ts'
import type { InspectOptions, Inspection } from '../ipa/inspect.ts'
import type { StagedBlob } from '../store/blob-store.ts'
import { openStagedSource } from '../store/open-stores.ts'

/** Inspects a staged upload where it lies (a temp file, or an S3 object through ranged GETs). */
export async function inspectStaged(staged: StagedBlob, options: InspectOptions): Promise<Inspection> {
  const source = await openStagedSource(staged)
  try {
    return await inspectSource(source, options)
  } finally {
    await source.close()
  }
}
