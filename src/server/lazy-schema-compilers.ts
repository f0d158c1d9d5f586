import buildAjvCompiler from '@fastify/ajv-compiler'
import buildFastJsonStringifyCompiler from '@fastify/fast-json-stringify-compiler'

/** A request-part validator as fastify calls it: returns false and sets `errors` when invalid. */
type Validator = ((data: unknown) => unknown) & { errors?: unknown }
type Serializer = (data: unknown) => string

/**
 * fastify's own schema compilers (ajv for request validation, fast-json-stringify for responses),
 * but each route's schemas are compiled on its first request instead of at start.
 *
 * Why: compiling every route up front kept ~7 MiB of heap in the idle server (measured: idle RSS
 * 146 → 139 MiB) for routes a given server may never answer — the admin UI on a CI-only box, the
 * device and tester APIs, the doctor — and the serve benchmark's upload RSS goal (< 150 MiB) is
 * within those megabytes. A route's first request pays its compilation (~1 ms) once.
 *
 * A schema that cannot compile would now fail on its route's first request instead of at start:
 * `compileAll()` compiles everything there is, which the tests do after building the app.
 */
export function lazySchemaCompilers() {
  const pending = new Set<() => unknown>()
  /** `compile` run once, on the first call of the returned getter (or by `compileAll`). */
  const onFirstUse = <T>(compile: () => T): (() => T) => {
    let compiled: { value: T } | null = null
    const get = (): T => {
      if (!compiled) {
        compiled = { value: compile() }
        pending.delete(get)
      }
      return compiled.value
    }
    pending.add(get)
    return get
  }
  const ajvFactory = buildAjvCompiler()
  const serializerFactory = buildFastJsonStringifyCompiler()
  type AjvCompile = ReturnType<typeof ajvFactory>
  type SerializerCompile = ReturnType<typeof serializerFactory>
  return {
    compilersFactory: {
      buildValidator(externalSchemas: Parameters<typeof ajvFactory>[0], options: Parameters<typeof ajvFactory>[1]) {
        let compile: AjvCompile | null = null
        return (route: Parameters<AjvCompile>[0]): ReturnType<AjvCompile> => {
          const validator = onFirstUse(() => (compile ??= ajvFactory(externalSchemas, options))(route) as unknown as Validator)
          const lazy: Validator = (data) => {
            const validate = validator()
            const valid = validate(data)
            // fastify reads `errors` off the function it was given.
            lazy.errors = validate.errors
            return valid
          }
          return lazy as unknown as ReturnType<AjvCompile>
        }
      },
      buildSerializer(externalSchemas: Parameters<typeof serializerFactory>[0], options: Parameters<typeof serializerFactory>[1]) {
        let compile: SerializerCompile | null = null
        return (route: Parameters<SerializerCompile>[0]): Serializer => {
          const serializer = onFirstUse(() => (compile ??= serializerFactory(externalSchemas, options))(route) as Serializer)
          return (data) => serializer()(data)
        }
      },
    },
    /** Compiles every schema not compiled yet (throws on the first that cannot compile); returns how many it compiled. */
    compileAll(): number {
      const left = [...pending]
      for (const get of left) get()
      return left.length
    },
  }
}
