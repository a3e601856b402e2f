// SPEC §8: every setting is an environment variable, overridable by a flag of the same name in
// kebab case (BATCH_SIZE → --batch-size). All are validated before anything connects; a bad value
// is one line naming the variable, the value and what was expected (secrets are never echoed).
import { existsSync, statSync } from 'node:fs'
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

/** One of a fixed list of words (case-insensitive), returned as the list spells it. */
const oneOf =
  <W extends string>(words: readonly W[]): Parser<W> =>
  (raw) =>
    words.find((word) => word.toLowerCase() === raw.trim().toLowerCase())

/** A file that exists (a PEM certificate); blank means unset. */
const existingFile: Parser<string> = (raw) => {
  const path = raw.trim()
  if (path === '') return ''
  return existsSync(path) && statSync(path).isFile() ? path : undefined
}

const yesNo: Parser<boolean> = (raw) => {
  const word = raw.trim().toLowerCase()
  if (['true', '1', 'yes', 'on'].includes(word)) return true
  if (['false', '0', 'no', 'off', ''].includes(word)) return false
  return undefined
}

export const KAFKA_SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const
/** libpq's sslmode words; `allow` is left out (postgres.js treats it as `require`). */
export const POSTGRES_SSLMODES = ['disable', 'prefer', 'require', 'verify-ca', 'verify-full'] as const

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
  kafkaSecurityProtocol: setting(
    'KAFKA_SECURITY_PROTOCOL',
    'PLAINTEXT',
    KAFKA_SECURITY_PROTOCOLS.join(' | '),
    oneOf(KAFKA_SECURITY_PROTOCOLS),
    'how to talk to the Kafka brokers: TLS (SSL, SASL_SSL) and/or SASL authentication',
  ),
  kafkaSaslMechanism: setting(
    'KAFKA_SASL_MECHANISM',
    undefined,
    KAFKA_SASL_MECHANISMS.join(' | '),
    oneOf(KAFKA_SASL_MECHANISMS),
    'SASL mechanism (required with SASL_PLAINTEXT / SASL_SSL)',
  ),
  kafkaSaslUsername: setting(
    'KAFKA_SASL_USERNAME',
    undefined,
    'a user name',
    text,
    'SASL user (required with SASL_PLAINTEXT / SASL_SSL)',
  ),
  kafkaSaslPassword: setting(
    'KAFKA_SASL_PASSWORD',
    undefined,
    'a password',
    anyText,
    'SASL password (required with SASL_PLAINTEXT / SASL_SSL)',
    true,
  ),
  kafkaSslCaFile: setting(
    'KAFKA_SSL_CA_FILE',
    undefined,
    'the path of an existing PEM file',
    existingFile,
    "CA certificates (PEM) that sign the brokers' certificates; default the system CAs (SSL / SASL_SSL)",
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
  postgresSslmode: setting(
    'POSTGRES_SSLMODE',
    'disable',
    POSTGRES_SSLMODES.join(' | '),
    oneOf(POSTGRES_SSLMODES),
    "PostgreSQL TLS, as libpq's sslmode: prefer/require encrypt without checking the certificate, verify-ca checks it against the CA, verify-full also the host name",
  ),
  postgresSslCaFile: setting(
    'POSTGRES_SSL_CA_FILE',
    undefined,
    'the path of an existing PEM file',
    existingFile,
    'CA certificates (PEM) for verify-ca / verify-full (default the system CAs)',
  ),
  redisHost: setting('REDIS_HOST', 'localhost', 'a host name', text, 'Redis host'),
  redisPort: setting('REDIS_PORT', '6379', 'a port 1-65535', port, 'Redis port'),
  redisPassword: setting('REDIS_PASSWORD', undefined, 'a password', anyText, 'Redis password', true),
  redisTls: setting('REDIS_TLS', 'false', 'true or false', yesNo, 'connect to Redis over TLS'),
  redisTlsCaFile: setting(
    'REDIS_TLS_CA_FILE',
    undefined,
    'the path of an existing PEM file',
    existingFile,
    'CA certificates (PEM) for Redis TLS (default the system CAs)',
  ),
  redisTtlSeconds: setting(
    'REDIS_TTL_SECONDS',
    '3600',
    'a whole number of seconds from 1 to 2147483647',
    wholeNumber(1, 2_147_483_647),
    'TTL of the Redis metrics hashes',
  ),
  batchSize: setting(
    'BATCH_SIZE',
    '100',
    'a whole number from 1 to 1000000',
    wholeNumber(1, 1_000_000),
    'events per processing batch: each batch emits a row per changed item',
  ),
  commitIntervalMs: setting(
    'COMMIT_INTERVAL_MS',
    '1000',
    'milliseconds from 0 to 3600000 (0: a commit after every batch)',
    wholeNumber(0, 3_600_000),
    'consume: the longest time between PostgreSQL commits (each holds one or more whole batches)',
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
    'a number of days from 0 to 3650',
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
  alertResolveThreshold: setting(
    'ALERT_RESOLVE_THRESHOLD',
    '0.2',
    'a probability with 0 <= x < ALERT_THRESHOLD',
    realNumber((v) => v >= 0 && v < 1),
    'stockout risk below which an alert episode resolves',
  ),
  alertRepeatDays: setting(
    'ALERT_REPEAT_DAYS',
    '7',
    'a whole number of days from 0 to 3650 (0: no reminders)',
    wholeNumber(0, 3650),
    'days between reminders of an open alert episode',
  ),
  dedupWindowHours: setting(
    'DEDUP_WINDOW_HOURS',
    '48',
    'a number of hours from 0 to 87600 (ten years)',
    realNumber((v) => v >= 0 && v <= 87_600),
    'how far back duplicate event ids are remembered',
  ),
  // Beyond SPEC §8.
  maxRejectRate: setting(
    'MAX_REJECT_RATE',
    '0.5',
    'a share with 0 <= x <= 1',
    realNumber((v) => v >= 0 && v <= 1),
    'replay and backtest: a run that rejects more than this share of its lines exits with status 3 (after its summary)',
  ),
  metricsPort: setting(
    'METRICS_PORT',
    '9464',
    'a port 0-65535 (0: no HTTP endpoint)',
    wholeNumber(0, 65_535),
    'consume: port of the /healthz and /metrics HTTP endpoint',
  ),
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
    'a number of seconds with 0 < x <= 86400',
    realNumber((v) => v > 0 && v <= 86_400),
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

/** The placeholder of a setting's value in help (`--batch-size N`), from its variable's name. */
const METAVARS: [RegExp, string][] = [
  [/_ROWS_PER_FILE$/, 'N'],
  [/_PORT$/, 'PORT'],
  [/_HOST$/, 'HOST'],
  [/_SERVERS$/, 'HOST:PORT,...'],
  [/_(CA_)?FILE$/, 'FILE'],
  [/_DIR$/, 'DIR'],
  [/_TOPIC$/, 'TOPIC'],
  [/_DAYS$/, 'DAYS'],
  [/_HOURS$/, 'HOURS'],
  [/_SECONDS$/, 'SECONDS'],
  [/_MS$/, 'MS'],
  [/(_LEVEL|_THRESHOLD)$/, 'P'],
  [/_RATE$/, 'R'],
  [/_SIZE$/, 'N'],
  [/_TLS$/, 'true|false'],
  [/_PROTOCOL$/, 'PROTOCOL'],
  [/_MECHANISM$/, 'MECHANISM'],
  [/_SSLMODE$/, 'MODE'],
  [/_PASSWORD$/, 'PASSWORD'],
  [/_USER(NAME)?$/, 'USER'],
  [/_DB$/, 'NAME'],
  [/_ID$/, 'ID'],
]

export function metavar(env: string): string {
  return METAVARS.find(([pattern]) => pattern.test(env))?.[1] ?? 'VALUE'
}

/**
 * citty argument definitions for the given settings (no defaults here: the environment comes
 * first): what it is, the values it takes, its variable and default.
 */
export function settingArgs<N extends SettingName>(names: readonly N[]) {
  const args: Record<string, { type: 'string'; description: string; valueHint: string }> = {}
  for (const name of names) {
    const s = SETTINGS[name]
    const shown = s.secret ? '' : s.default === undefined ? '' : `, default ${s.default}`
    args[flagName(name)] = {
      type: 'string',
      description: `${s.description}: ${s.expected} (env ${s.env}${shown})`,
      valueHint: metavar(s.env),
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
  checkCombinations(result)
  return result as Settings<N>
}

/**
 * The checks that involve several settings (only among those loaded): SASL needs a mechanism, a
 * user and a password; a CA file needs the transport that uses it.
 */
function checkCombinations(settings: Record<string, unknown>): void {
  const given = (name: SettingName) => settings[name] !== undefined && settings[name] !== ''
  const protocol = settings.kafkaSecurityProtocol as (typeof KAFKA_SECURITY_PROTOCOLS)[number] | undefined
  if (protocol !== undefined) {
    const sasl = protocol.startsWith('SASL_')
    for (const name of ['kafkaSaslMechanism', 'kafkaSaslUsername', 'kafkaSaslPassword'] as const) {
      const s = SETTINGS[name]
      if (!(name in settings)) continue
      if (sasl && !given(name))
        throw new ConfigError(
          `missing ${s.env}: KAFKA_SECURITY_PROTOCOL=${protocol} needs ${name === 'kafkaSaslMechanism' ? s.expected : s.expected.replace(/^an? /, 'the ')}`,
        )
      if (!sasl && given(name))
        throw new ConfigError(
          `${s.env} is set but KAFKA_SECURITY_PROTOCOL=${protocol} does not use SASL (expected SASL_PLAINTEXT or SASL_SSL)`,
        )
    }
    if (given('kafkaSslCaFile') && !protocol.endsWith('SSL'))
      throw new ConfigError(
        `KAFKA_SSL_CA_FILE is set but KAFKA_SECURITY_PROTOCOL=${protocol} does not use TLS (expected SSL or SASL_SSL)`,
      )
  }
  const threshold = settings.alertThreshold as number | undefined
  const resolve = settings.alertResolveThreshold as number | undefined
  if (threshold !== undefined && resolve !== undefined && !(resolve < threshold))
    throw new ConfigError(
      `invalid ALERT_RESOLVE_THRESHOLD=${resolve}: expected a probability below ALERT_THRESHOLD (${threshold}), the gap keeps a hovering risk from flapping`,
    )
  if (given('postgresSslCaFile') && settings.postgresSslmode === 'disable')
    throw new ConfigError(
      'POSTGRES_SSL_CA_FILE is set but POSTGRES_SSLMODE=disable (expected verify-ca or verify-full)',
    )
  if (given('redisTlsCaFile') && settings.redisTls === false)
    throw new ConfigError('REDIS_TLS_CA_FILE is set but REDIS_TLS=false (expected REDIS_TLS=true)')
}

export const CORE_SETTINGS = [
  'leadTimeDays',
  'reviewPeriodDays',
  'serviceLevel',
  'alertThreshold',
  'alertResolveThreshold',
  'alertRepeatDays',
  'dedupWindowHours',
] as const

export function coreConfigOf(settings: Settings<(typeof CORE_SETTINGS)[number]>): CoreConfig {
  return {
    leadTimeDays: settings.leadTimeDays,
    reviewPeriodDays: settings.reviewPeriodDays,
    serviceLevel: settings.serviceLevel,
    alertThreshold: settings.alertThreshold,
    alertResolveThreshold: settings.alertResolveThreshold,
    alertRepeatDays: settings.alertRepeatDays,
    dedupWindowHours: settings.dedupWindowHours,
  }
}
