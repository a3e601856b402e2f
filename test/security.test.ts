// Security settings (issue 5 item 4): SASL/SCRAM against the local broker's SASL_PLAINTEXT
// listener (scripts/stack/stack.sh: 127.0.0.1:9094, user invpipe) and its SASL_SSL listener
// (127.0.0.1:9095, a self-signed certificate whose PEM is .stack/kafka/tls/ca.pem), the validation
// of the TLS/SASL settings before anything connects, and secrets kept out of errors and --help.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls'
import { loadSettings } from '../src/config.ts'
import { KAFKA_SETTINGS, kafkaClient, kafkaSecurity } from '../src/kafka/client.ts'
import { POSTGRES_SETTINGS, postgresSsl } from '../src/postgres/connect.ts'
import { analyze } from './support/analyze.ts'
import { invpipe } from './support/cli.ts'
import { ROOT } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const SASL_BOOTSTRAP = process.env.KAFKA_SASL_BOOTSTRAP_SERVERS ?? '127.0.0.1:9094'
const SSL_BOOTSTRAP = process.env.KAFKA_SSL_BOOTSTRAP_SERVERS ?? '127.0.0.1:9095'
const BROKER_CA = process.env.KAFKA_TEST_CA_FILE ?? join(ROOT, '.stack', 'kafka', 'tls', 'ca.pem')
const SCRAM_USER = process.env.KAFKA_SCRAM_USER ?? 'invpipe'
const SCRAM_PASSWORD = process.env.KAFKA_SCRAM_PASSWORD ?? 'invpipe-test-secret'
const SAMPLE = join(ROOT, 'fixtures', 'sample-events.jsonl')
const scratch = mkdtempSync(join(tmpdir(), 'invpipe-security-'))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const scram = (mechanism: string, password = SCRAM_PASSWORD) => ({
  KAFKA_BOOTSTRAP_SERVERS: SASL_BOOTSTRAP,
  KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
  KAFKA_SASL_MECHANISM: mechanism,
  KAFKA_SASL_USERNAME: SCRAM_USER,
  KAFKA_SASL_PASSWORD: password,
})

const run = (args: string[], env: Record<string, string>) =>
  invpipe(args, { cwd: scratch, env: { DATA_DIR: join(scratch, 'data'), ...env } })

/** Every message of the topic, read through the SCRAM listener with invpipe's own client. */
async function readThroughScram(topic: string, mechanism: string): Promise<string[]> {
  const settings = loadSettings(KAFKA_SETTINGS, {}, scram(mechanism))
  const kafka = kafkaClient(settings, 'invpipe-security-test')
  const admin = kafka.admin()
  await admin.connect()
  const ends = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const total = ends.reduce((sum, end) => sum + Number(end.high) - Number(end.low), 0)
  const consumer = kafka.consumer({ groupId: `security-${topic}` })
  const values: string[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topic, fromBeginning: true })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read ${values.length} of ${total} messages`)), 30_000)
      void consumer.run({
        eachMessage: async ({ message }) => {
          values.push(message.value?.toString() ?? '')
          if (values.length >= total) {
            clearTimeout(timer)
            resolve()
          }
        },
      })
    })
  } finally {
    await consumer.disconnect()
  }
  return values
}

describe('SASL/SCRAM against the local broker', () => {
  test('replay sends the alerts over SCRAM-SHA-256; they read back over SCRAM-SHA-512', async () => {
    const topic = `alerts-security-${Date.now().toString(36)}`
    const result = run(['replay', SAMPLE, '--sinks', 'kafka', '--json'], {
      ...scram('scram-sha-256'),
      ALERT_TOPIC: topic,
    })
    expect(result.stderr).not.toContain('unexpected')
    expect(result.code).toBe(0)
    const expected = analyze(readFileSync(SAMPLE, 'utf8').split('\n').slice(0, -1))
    const ids = (await readThroughScram(topic, 'scram-sha-512')).map(
      (v) => JSON.parse(v).message_id as string,
    )
    expect(ids.sort()).toEqual(expected.alerts.map((a) => a.message_id as string).sort())
    expect(JSON.parse(result.stdout).alerts).toBe(expected.alerts.length)
  }, 120_000)

  test('a wrong password is a one-line error, exit 2, and the password is never printed', () => {
    const password = 'not-the-password-7f3a'
    const result = run(['replay', SAMPLE, '--sinks', 'kafka'], {
      ...scram('scram-sha-256', password),
      ALERT_TOPIC: 'alerts-security-never',
    })
    expect(result.code).toBe(2)
    const last = result.stderr.trim().split('\n').at(-1)
    expect(last).toStartWith(
      'invpipe: Kafka refused the credentials: SASL SCRAM SHA256 authentication failed',
    )
    expect(result.stderr + result.stdout).not.toContain(password)
  }, 60_000)
})

describe('SASL_SSL against the local broker', () => {
  const overTls = (extra: Record<string, string> = {}) => ({
    ...scram('scram-sha-512'),
    KAFKA_BOOTSTRAP_SERVERS: SSL_BOOTSTRAP,
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    ...extra,
  })

  test('generate produces over TLS (the broker checked against KAFKA_SSL_CA_FILE) with SCRAM-SHA-512', async () => {
    const topic = `tls-${Date.now().toString(36)}`
    const result = run(['generate', '--events', '300', '--seed', '5', '--topic', topic], {
      ...overTls({ KAFKA_SSL_CA_FILE: BROKER_CA }),
    })
    expect(result.stderr).toContain(
      `generate: 300 events, 200 items, Kafka topic ${topic} at ${SSL_BOOTSTRAP}`,
    )
    expect(result.code).toBe(0)
    const expected = run(['generate', '--events', '300', '--seed', '5'], {}).stdout.trim().split('\n')
    expect((await readThroughScram(topic, 'scram-sha-256')).sort()).toEqual(expected.sort())
  }, 60_000)

  test('the TLS options verify the certificate: trusted with the CA file, refused without it', async () => {
    const [host, port] = SSL_BOOTSTRAP.split(':') as [string, string]
    const handshake = (options: ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const socket = tlsConnect({ host, port: Number(port), servername: 'localhost', ...options })
        socket.on('secureConnect', () => {
          socket.end()
          resolve('trusted')
        })
        socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message))
      })
    const optionsOf = (env: Record<string, string>) => {
      const { ssl } = kafkaSecurity(loadSettings(KAFKA_SETTINGS, {}, overTls(env)))
      if (ssl === undefined || ssl === false) throw new Error('no TLS options')
      return ssl === true ? {} : (ssl as ConnectionOptions)
    }
    expect(await handshake(optionsOf({ KAFKA_SSL_CA_FILE: BROKER_CA }))).toBe('trusted')
    expect(await handshake(optionsOf({}))).toBe('DEPTH_ZERO_SELF_SIGNED_CERT')
  })
})

describe('validation before anything connects', () => {
  const sample = (env: Record<string, string>) => run(['replay', SAMPLE, '--sinks', 'kafka'], env)
  const cases: [string, Record<string, string>, string][] = [
    [
      'SASL without a user',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_PASSWORD: 'pw-123456',
      },
      'invpipe: missing KAFKA_SASL_USERNAME: KAFKA_SECURITY_PROTOCOL=SASL_SSL needs the user name',
    ],
    [
      'SASL without a password',
      { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u' },
      'invpipe: missing KAFKA_SASL_PASSWORD: KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs the password',
    ],
    [
      'SASL without a mechanism',
      {
        KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'pw-123456',
      },
      'invpipe: missing KAFKA_SASL_MECHANISM: KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT needs plain | scram-sha-256 | scram-sha-512',
    ],
    [
      'an unknown mechanism',
      { KAFKA_SECURITY_PROTOCOL: 'SASL_PLAINTEXT', KAFKA_SASL_MECHANISM: 'gssapi' },
      'invpipe: invalid KAFKA_SASL_MECHANISM="gssapi": expected plain | scram-sha-256 | scram-sha-512',
    ],
    [
      'an unknown protocol',
      { KAFKA_SECURITY_PROTOCOL: 'TLS' },
      'invpipe: invalid KAFKA_SECURITY_PROTOCOL="TLS": expected PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL',
    ],
    [
      'a Kafka CA file that does not exist',
      { KAFKA_SECURITY_PROTOCOL: 'SSL', KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' },
      'invpipe: invalid KAFKA_SSL_CA_FILE="/nonexistent/ca.pem": expected the path of an existing PEM file',
    ],
    [
      'a PostgreSQL CA file that does not exist',
      { POSTGRES_SSLMODE: 'verify-full', POSTGRES_SSL_CA_FILE: '/nonexistent/pg.pem' },
      'invpipe: invalid POSTGRES_SSL_CA_FILE="/nonexistent/pg.pem": expected the path of an existing PEM file',
    ],
    [
      'an unknown sslmode',
      { POSTGRES_SSLMODE: 'always' },
      'invpipe: invalid POSTGRES_SSLMODE="always": expected disable | prefer | require | verify-ca | verify-full',
    ],
    [
      'a Redis CA file that does not exist',
      { REDIS_TLS: 'true', REDIS_TLS_CA_FILE: '/nonexistent/redis.pem' },
      'invpipe: invalid REDIS_TLS_CA_FILE="/nonexistent/redis.pem": expected the path of an existing PEM file',
    ],
    [
      'REDIS_TLS not a boolean',
      { REDIS_TLS: 'maybe' },
      'invpipe: invalid REDIS_TLS="maybe": expected true or false',
    ],
    [
      'a SASL password without SASL',
      { KAFKA_SASL_PASSWORD: 'pw-123456' },
      'invpipe: KAFKA_SASL_PASSWORD is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT does not use SASL (expected SASL_PLAINTEXT or SASL_SSL)',
    ],
  ]
  for (const [name, env, message] of cases) {
    test(name, () => {
      const result = sample(env)
      expect(result.code).toBe(2)
      expect(result.stderr.trim()).toBe(message)
      expect(result.stderr).not.toContain('pw-123456')
    })
  }
})

describe('TLS options', () => {
  const ca = join(scratch, 'ca.pem')
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')

  test('Kafka: SSL with a CA file, SASL_SSL with SCRAM', () => {
    const ssl = loadSettings(KAFKA_SETTINGS, {}, { KAFKA_SECURITY_PROTOCOL: 'ssl', KAFKA_SSL_CA_FILE: ca })
    expect(kafkaSecurity(ssl)).toEqual({ ssl: { ca: [readFileSync(ca, 'utf8')] } })
    const saslSsl = loadSettings(
      KAFKA_SETTINGS,
      {},
      { ...scram('scram-sha-512'), KAFKA_SECURITY_PROTOCOL: 'SASL_SSL' },
    )
    expect(kafkaSecurity(saslSsl)).toEqual({
      ssl: true,
      sasl: { mechanism: 'scram-sha-512', username: SCRAM_USER, password: SCRAM_PASSWORD },
    })
    expect(kafkaSecurity(loadSettings(KAFKA_SETTINGS, {}, {}))).toEqual({})
  })

  test('PostgreSQL: sslmode to postgres.js', () => {
    const pg = (env: Record<string, string>) => postgresSsl(loadSettings(POSTGRES_SETTINGS, {}, env))
    expect(pg({})).toBe(false)
    expect(pg({ POSTGRES_SSLMODE: 'prefer' })).toBe('prefer')
    expect(pg({ POSTGRES_SSLMODE: 'require' })).toBe('require')
    expect(pg({ POSTGRES_SSLMODE: 'verify-full' })).toEqual({ rejectUnauthorized: true })
    const verifyCa = pg({ POSTGRES_SSLMODE: 'verify-ca', POSTGRES_SSL_CA_FILE: ca })
    expect(verifyCa).toMatchObject({ rejectUnauthorized: true, ca: readFileSync(ca, 'utf8') })
    expect(() =>
      loadSettings(POSTGRES_SETTINGS, {}, { POSTGRES_SSLMODE: 'disable', POSTGRES_SSL_CA_FILE: ca }),
    ).toThrow('POSTGRES_SSL_CA_FILE is set but POSTGRES_SSLMODE=disable')
  })
})

test('--help shows no secret values', () => {
  const secrets = {
    KAFKA_SASL_PASSWORD: 'kafka-secret-4711',
    POSTGRES_PASSWORD: 'pg-secret-4711',
    REDIS_PASSWORD: 'redis-secret-4711',
  }
  for (const command of ['consume', 'replay']) {
    const result = run([command, '--help'], secrets)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('KAFKA_SASL_PASSWORD')
    expect(result.stdout).toContain('POSTGRES_SSLMODE')
    for (const secret of Object.values(secrets)) expect(result.stdout + result.stderr).not.toContain(secret)
  }
})
