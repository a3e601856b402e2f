// One place that turns the PostgreSQL settings into a connection pool.
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import postgres, { type Sql } from 'postgres'
import type { Settings } from '../config.ts'
import { errorCode, ServiceError } from '../errors.ts'

export const POSTGRES_SETTINGS = [
  'postgresHost',
  'postgresPort',
  'postgresDb',
  'postgresUser',
  'postgresPassword',
  'postgresSslmode',
  'postgresSslCaFile',
] as const
type PostgresSettings = Settings<(typeof POSTGRES_SETTINGS)[number]>

/**
 * Server-side limits of a `consume` session, so that no statement, lock wait or forgotten
 * transaction can hold the pipeline (or another instance) for long: a statement is cancelled after
 * 30 s, a lock wait after 10 s, and a session idle inside a transaction (its process frozen, or cut
 * off from the network) is ended after 15 s, which rolls the transaction back and frees its row
 * locks for the instance that took its partitions over. Migrations lift the first two for their
 * own transaction (src/postgres/migrations.ts).
 */
export const CONSUME_SESSION = {
  statement_timeout: 30_000,
  lock_timeout: 10_000,
  idle_in_transaction_session_timeout: 15_000,
} as const

export function connectPostgres(
  settings: PostgresSettings,
  max = 4,
  session: Partial<Record<keyof typeof CONSUME_SESSION, number>> = {},
): Sql {
  return postgres({
    host: settings.postgresHost,
    port: settings.postgresPort,
    database: settings.postgresDb,
    username: settings.postgresUser,
    password: settings.postgresPassword,
    ssl: postgresSsl(settings),
    max,
    connect_timeout: 10,
    // Reconnect within a second, however long the outage was (postgres.js' default backs off up
    // to 20 s after repeated failures, which made a short outage cost 20 s).
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, 1),
    // Startup parameters: applied by the server to every connection of the pool.
    connection: { application_name: 'invpipe', ...session },
    onnotice: () => {},
    // Offsets and counts fit a double exactly; numbers are easier to carry than strings.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  })
}

/** Failures of the connection itself (not of a statement): the server went away, or the socket did. */
const CONNECTION_FAILURES = new Set([
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '25P03', // idle_in_transaction_session_timeout
])

/**
 * An error the PostgreSQL server itself reported (a SQLSTATE with its severity): its message says
 * what went wrong ("role … does not exist") but not on which server or database.
 */
export function fromPostgresServer(error: unknown): boolean {
  const severity = (error as { severity?: unknown } | null)?.severity
  return typeof severity === 'string' && /^[0-9A-Z]{5}$/.test(errorCode(error))
}

export function isConnectionFailure(error: unknown): boolean {
  return CONNECTION_FAILURES.has(errorCode(error))
}

/**
 * Of those, an established session ended under the work (the server still up: an administrator, a
 * pooler, a failover). A session ended while its socket was being read or written can surface as the
 * socket's reset or broken pipe instead of the server's 57P01.
 */
const SESSION_LOST = new Set(['57P01', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'EPIPE'])

export function isSessionLost(error: unknown): boolean {
  return SESSION_LOST.has(errorCode(error))
}

/**
 * A pool that replaces itself after a connection failure. postgres.js 3.4.9 can leave a pooled
 * connection unusable for good when its socket closes while a small write is still scheduled (its
 * write timer is cleared but not reset, so the connection never sends its start-up message again:
 * every later attempt ends in CONNECT_TIMEOUT, 10 s each; the same race throws "null is not an
 * object (evaluating 'socket.write')" from a timer; upstream porsager/postgres#1066, #1154, #1208).
 * After a PostgreSQL restart that cost a batch 10 s again and again. So after any connection
 * failure the pool is replaced by a new one (at most once a second, and once more after the last
 * failure of a burst); the old one finishes its queries within 2 s and is ended. Every query goes
 * to the current pool, through the same `Sql` object.
 */
export function renewingPool(make: () => Sql): Sql {
  let current = make()
  let renewedAt = 0
  let trailing: ReturnType<typeof setTimeout> | null = null
  const ending: Promise<void>[] = []
  const renew = () => {
    trailing = null
    renewedAt = performance.now()
    const old = current
    current = make()
    const ended = old.end({ timeout: 2 }).catch(() => {})
    ending.push(ended)
    void ended.then(() => ending.splice(ending.indexOf(ended), 1))
  }
  const noted = (error: unknown) => {
    if (!isConnectionFailure(error)) return
    const wait = renewedAt + 1_000 - performance.now()
    if (wait <= 0) renew()
    else trailing ??= setTimeout(renew, wait)
  }
  /** Notes the failure of a query or transaction without handling it for the caller. */
  const watched = <T>(result: T): T => {
    const thenable = result as { catch?: (f: (e: unknown) => void) => unknown }
    if (result !== null && typeof result === 'object' && typeof thenable.catch === 'function')
      thenable.catch(noted)
    return result
  }
  const target = (() => {}) as unknown as Sql
  return new Proxy(target, {
    apply: (_target, _this, args) => watched((current as unknown as (...a: unknown[]) => unknown)(...args)),
    get: (_target, property) => {
      if (property === 'end')
        return async (options?: { timeout?: number }) => {
          if (trailing !== null) clearTimeout(trailing)
          await Promise.all([current.end(options), ...ending])
        }
      const value = (current as unknown as Record<PropertyKey, unknown>)[property]
      if (typeof value !== 'function') return value
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(current, args)
        return property === 'begin' || property === 'unsafe' ? watched(result) : result
      }
    },
  })
}

/**
 * postgres.js' `ssl` option from libpq's sslmode: `prefer` tries TLS and falls back to plain text,
 * `require` insists on TLS without checking the certificate (with a CA file it checks the chain, as
 * libpq does when a root certificate is given), `verify-ca` checks the chain only, `verify-full`
 * the chain and the host name. Without POSTGRES_SSL_CA_FILE the system CAs are trusted.
 */
export function postgresSsl(settings: PostgresSettings): false | 'prefer' | 'require' | ConnectionOptions {
  const ca = settings.postgresSslCaFile ? readFileSync(settings.postgresSslCaFile, 'utf8') : undefined
  const chainOnly: ConnectionOptions = { rejectUnauthorized: true, checkServerIdentity: () => undefined }
  switch (settings.postgresSslmode) {
    case 'disable':
      return false
    case 'prefer':
      return 'prefer'
    case 'require':
      return ca === undefined ? 'require' : { ...chainOnly, ca }
    case 'verify-ca':
      return { ...chainOnly, ...(ca === undefined ? {} : { ca }) }
    case 'verify-full':
      return { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) }
  }
}

/** Where the settings point, for messages (never the password). */
export function postgresLocation(settings: PostgresSettings): string {
  return `${settings.postgresUser}@${settings.postgresHost}:${settings.postgresPort}/${settings.postgresDb}`
}

/**
 * Runs a one-shot command's work on the database, then closes the pool. A failure of the server or
 * the network (an error with a code: ECONNREFUSED, a PostgreSQL SQLSTATE) becomes one line naming
 * the database; anything else is a bug and keeps its stack.
 */
export async function withPostgres<T>(
  settings: PostgresSettings,
  work: (sql: Sql) => Promise<T>,
): Promise<T> {
  const sql = connectPostgres(settings, 1)
  try {
    return await work(sql)
  } catch (error) {
    const code = errorCode(error)
    if (code !== '' && error instanceof Error)
      throw new ServiceError(`PostgreSQL ${postgresLocation(settings)}: ${error.message} (${code})`)
    throw error
  } finally {
    await sql.end({ timeout: 5 })
  }
}
