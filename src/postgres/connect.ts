// One place that turns the PostgreSQL settings into a connection pool.
import postgres, { type Sql } from 'postgres'
import type { Settings } from '../config.ts'

export const POSTGRES_SETTINGS = [
  'postgresHost',
  'postgresPort',
  'postgresDb',
  'postgresUser',
  'postgresPassword',
] as const

export function connectPostgres(settings: Settings<(typeof POSTGRES_SETTINGS)[number]>, max = 4): Sql {
  return postgres({
    host: settings.postgresHost,
    port: settings.postgresPort,
    database: settings.postgresDb,
    username: settings.postgresUser,
    password: settings.postgresPassword,
    max,
    connect_timeout: 10,
    onnotice: () => {},
    // Offsets and counts fit a double exactly; numbers are easier to carry than strings.
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  })
}
