import type { TestServer } from './server.ts'

export interface ApiAnswer {
  status: number
  body: any
}

/** A JSON API caller with the server's test token: `call(method, path, body?)`, the body parsed when there is one. */
export function api(server: TestServer) {
  return async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const response = await server.request(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.apiToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    })
    return { status: response.status, body: response.body.length ? response.json() : null }
  }
}
