import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib'

/** Undoes Content-Encoding with an output cap (a compressed manifest could be a decompression bomb). */
export function decodeBody(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer | { kind: 'too-large' | 'protocol'; message: string } {
  const name = (encoding ?? '').trim().toLowerCase()
  if (name === '' || name === 'identity') return body
  try {
    if (name === 'gzip' || name === 'x-gzip') return gunzipSync(body, { maxOutputLength: maxBytes })
    if (name === 'br') return brotliDecompressSync(body, { maxOutputLength: maxBytes })
    if (name === 'deflate') {
      // "deflate" is zlib-wrapped by the RFC, raw in some servers: accept both, as browsers do.
      try {
        return inflateSync(body, { maxOutputLength: maxBytes })
      } catch {
        return inflateRawSync(body, { maxOutputLength: maxBytes })
      }
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return { kind: 'too-large', message: `the body inflates past ${maxBytes} bytes` }
    return { kind: 'protocol', message: `the body is not valid ${name}: ${(error as Error).message}` }
  }
  return { kind: 'protocol', message: `the body is in an unknown Content-Encoding "${name}"` }
}
