// One place that turns the PostgreSQL settings into a connection pool.
import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import postgres, { type Sql } from 'postgres'
import type { Settings } from '../config.ts'
import { ServiceError } from '../errors.ts'

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

export function connectPostgres(settings: PostgresSettings, max = 4): Sql {
  return postgres({
    host: settings.postgresHost,
    port: settings.postgresPort,
    database: settings.postgresDb,
    username: settings.postgresUser,
    password: settings.postgresPassword,
    ssl: postgresSsl(settings),
    max,
    connect_timeout: 10,
    onnotice: () => {},
    // Offsets and counts fit a double exactly; numbers are easier to carry than strings.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
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
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && error instanceof Error)
      throw new ServiceError(`PostgreSQL ${postgresLocation(settings)}: ${error.message} (${code})`)
    throw error
  } finally {
    await sql.end({ timeout: 5 })
  }
}
