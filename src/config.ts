// SPEC §8: every setting is an environment variable, overridable by a flag of the same name in
// kebab case (BATCH_SIZE → --batch-size). All are validated before anything connects; a bad value
// is one line naming the variable, the value and what was expected (secrets are never echoed).
import type { CoreConfig } from './core/config.ts'

type Parser<T> = (raw: string) => T | undefined

interface Setting<T> {
  env: string
  default: string | undefined
  expected: string
  parse: Parser<T>
  secret?: boolean
  description: string
}

const wholeNumber =
  (min: number, max = Number.MAX_SAFE_INTEGER): Parser<number> =>
  (raw) => {
    if (!/^\d+$/.test(raw.trim())) return undefined
    const value = Number(raw)
    return value >= min && value <= max ? value : undefined
  }

const realNumber =
  (accept: (value: number) => boolean): Parser<number> =>
  (raw) => {
    if (raw.trim() === '') return undefined
    const value = Number(raw)
    return Number.isFinite(value) && accept(value) ? value : undefined
  }

const text: Parser<string> = (raw) => (raw.trim() === '' ? undefined : raw.trim())
const anyText: Parser<string> = (raw) => raw
const port = wholeNumber(1, 65_535)

function setting<T, D extends string | undefined>(
  env: string,
  defaultValue: D,
  expected: string,
  parse: Parser<T>,
  description: string,
  secret = false,
): Setting<T> & { default: D } {
  return { env, default: defaultValue, expected, parse, description, secret }
}

export const SETTINGS = {
  kafkaBootstrapServers: setting(
    'KAFKA_BOOTSTRAP_SERVERS',
    'localhost:9092',
    'host:port[,host:port...]',
    (raw) => (/^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/.test(raw.trim()) ? raw.trim() : undefined),
    'Kafka brokers',
  ),
  kafkaTopic: setting('KAFKA_TOPIC', 'inventory-events', 'a topic name', text, 'topic of inventory events'),
  kafkaGroupId: setting('KAFKA_GROUP_ID', 'invpipe', 'a consumer group id', text, 'consumer group'),
  alertTopic: setting('ALERT_TOPIC', 'inventory-alerts', 'a topic name', text, 'topic for stockout alerts'),
  dlqTopic: setting(
    'DLQ_TOPIC',
    'inventory-events-dlq',
    'a topic name',
    text,
    'dead-letter topic for rejected events',
  ),
  postgresHost: setting('POSTGRES_HOST', 'localhost', 'a host name', text, 'PostgreSQL host'),
  postgresPort: setting('POSTGRES_PORT', '5432', 'a port 1-65535', port, 'PostgreSQL port'),
  postgresDb: setting('POSTGRES_DB', 'inventory', 'a database name', text, 'PostgreSQL database'),
  postgresUser: setting('POSTGRES_USER', 'inventory_user', 'a role name', text, 'PostgreSQL role'),
  postgresPassword: setting(
    'POSTGRES_PASSWORD',
    undefined,
    'a password',
    anyText,
    'PostgreSQL password',
    true,
  ),
  redisHost: setting('REDIS_HOST', 'localhost', 'a host name', text, 'Redis host'),
  redisPort: setting('REDIS_PORT', '6379', 'a port 1-65535', port, 'Redis port'),
  redisPassword: setting('REDIS_PASSWORD', undefined, 'a password', anyText, 'Redis password', true),
  redisTtlSeconds: setting(
    'REDIS_TTL_SECONDS',
    '3600',
    'a whole number of seconds >= 1',
    wholeNumber(1),
    'TTL of the Redis metrics hashes',
  ),
  batchSize: setting(
    'BATCH_SIZE',
    '100',
    'a whole number from 1 to 1000000',
    wholeNumber(1, 1_000_000),
    'events per processing batch (and PostgreSQL transaction)',
  ),
  dataDir: setting('DATA_DIR', './data', 'a directory path', text, 'where Parquet files are written'),
  leadTimeDays: setting(
    'LEAD_TIME_DAYS',
    '7',
    'a number of days with 0 < x <= 365',
    realNumber((v) => v > 0 && v <= 365),
    'default supplier lead time',
  ),
  reviewPeriodDays: setting(
    'REVIEW_PERIOD_DAYS',
    '7',
    'a number of days >= 0',
    realNumber((v) => v >= 0 && v <= 3650),
    'days between reorder reviews',
  ),
  serviceLevel: setting(
    'SERVICE_LEVEL',
    '0.95',
    'a probability with 0 < x < 1',
    realNumber((v) => v > 0 && v < 1),
    'target probability of no stockout over the lead time',
  ),
  alertThreshold: setting(
    'ALERT_THRESHOLD',
    '0.5',
    'a probability with 0 <= x <= 1',
    realNumber((v) => v >= 0 && v <= 1),
    'stockout risk that raises an alert',
  ),
  dedupWindowHours: setting(
    'DEDUP_WINDOW_HOURS',
    '48',
    'a number of hours >= 0',
    realNumber((v) => v >= 0 && v <= 87_600),
    'how far back duplicate event ids are remembered',
  ),
  // Beyond SPEC §8.
  kafkaSessionTimeoutMs: setting(
    'KAFKA_SESSION_TIMEOUT_MS',
    '30000',
    'milliseconds from 6000 to 300000',
    wholeNumber(6_000, 300_000),
    'consume: how long the group waits for a silent (crashed) instance before giving its partitions away',
  ),
  parquetRowsPerFile: setting(
    'PARQUET_ROWS_PER_FILE',
    '100000',
    'a whole number from 1 to 10000000',
    wholeNumber(1, 10_000_000),
    'consume: a Parquet file is written once this many rows wait',
  ),
  parquetFlushSeconds: setting(
    'PARQUET_FLUSH_SECONDS',
    '60',
    'a number of seconds > 0',
    realNumber((v) => v > 0),
    'consume: ...or once the oldest row has waited this long',
  ),
} as const

export type SettingName = keyof typeof SETTINGS
type ValueOf<N extends SettingName> = (typeof SETTINGS)[N] extends Setting<infer T> ? T : never
/** A setting without a default (the passwords) may be undefined. */
export type Settings<N extends SettingName> = {
  [K in N]: (typeof SETTINGS)[K]['default'] extends string ? ValueOf<K> : ValueOf<K> | undefined
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Flag name of a setting: BATCH_SIZE → batch-size. */
export function flagName(name: SettingName): string {
  return SETTINGS[name].env.toLowerCase().replaceAll('_', '-')
}

/** citty argument definitions for the given settings (no defaults here: the environment comes first). */
export function settingArgs<N extends SettingName>(names: readonly N[]) {
  const args: Record<string, { type: 'string'; description: string; valueHint: string }> = {}
  for (const name of names) {
    const s = SETTINGS[name]
    const shown = s.secret ? '' : s.default === undefined ? '' : ` (default ${s.default})`
    args[flagName(name)] = {
      type: 'string',
      description: `${s.description}; env ${s.env}${shown}`,
      valueHint: s.expected,
    }
  }
  return args
}

/**
 * Resolves the settings: flag, else environment variable, else default. Throws a ConfigError naming
 * the variable on the first bad value.
 */
export function loadSettings<N extends SettingName>(
  names: readonly N[],
  flags: Record<string, unknown>,
  env: Record<string, string | undefined> = process.env,
): Settings<N> {
  const result: Record<string, unknown> = {}
  for (const name of names) {
    const s = SETTINGS[name] as Setting<unknown>
    const flag = flags[flagName(name)]
    const raw = typeof flag === 'string' ? flag : (env[s.env] ?? s.default)
    if (raw === undefined) {
      result[name] = undefined
      continue
    }
    const value = s.parse(raw)
    if (value === undefined) {
      const shown = s.secret ? '(hidden)' : JSON.stringify(raw)
      const origin = typeof flag === 'string' ? `--${flagName(name)}` : s.env
      throw new ConfigError(
        `invalid ${s.env}=${shown}${origin === s.env ? '' : ` (from ${origin})`}: expected ${s.expected}`,
      )
    }
    result[name] = value
  }
  return result as Settings<N>
}

export const CORE_SETTINGS = [
  'leadTimeDays',
  'reviewPeriodDays',
  'serviceLevel',
  'alertThreshold',
  'dedupWindowHours',
] as const

export function coreConfigOf(settings: Settings<(typeof CORE_SETTINGS)[number]>): CoreConfig {
  return {
    leadTimeDays: settings.leadTimeDays,
    reviewPeriodDays: settings.reviewPeriodDays,
    serviceLevel: settings.serviceLevel,
    alertThreshold: settings.alertThreshold,
    dedupWindowHours: settings.dedupWindowHours,
  }
}
