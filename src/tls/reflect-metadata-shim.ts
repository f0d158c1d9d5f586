/**
 * Minimal Reflect metadata API (getMetadata / getOwnMetadata / defineMetadata) for
 * `@peculiar/x509`, whose dependency tsyringe refuses to load without a "reflect polyfill".
 * Airstrip uses no decorators, so nothing ever defines metadata and lookups simply return
 * undefined; the shim only exists so the library can load. Installed only when no polyfill is
 * present (a real `reflect-metadata` import, if the project adds one, wins). Import this module
 * before `@peculiar/x509` — ESM evaluates imports in order.
 */
type MetadataStore = WeakMap<object, Map<unknown, unknown>>

interface ReflectWithMetadata {
  getMetadata?: (key: unknown, target: object) => unknown
  getOwnMetadata?: (key: unknown, target: object) => unknown
  defineMetadata?: (key: unknown, value: unknown, target: object) => void
}

const reflect = Reflect as unknown as ReflectWithMetadata
if (typeof reflect.getMetadata !== 'function') {
  const store: MetadataStore = new WeakMap()
  const own = (key: unknown, target: object): unknown => store.get(target)?.get(key)
  reflect.getOwnMetadata = own
  reflect.getMetadata = (key, target) => {
    for (let current: object | null = target; current !== null; current = Object.getPrototypeOf(current) as object | null) {
      const found = store.get(current)
      if (found?.has(key)) return found.get(key)
    }
    return undefined
  }
  reflect.defineMetadata = (key, value, target) => {
    let entries = store.get(target)
    if (!entries) store.set(target, (entries = new Map()))
    entries.set(key, value)
  }
}

export {}
