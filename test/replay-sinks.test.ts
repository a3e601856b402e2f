// `invpipe replay --sinks parquet,postgres,redis,kafka`: the same sink code as consume, fed by files.
import { afterAll, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Redis from 'ioredis'
import { analyze, firstDifference } from './support/analyze.ts'
import { invpipe } from './support/cli.ts'
import { BOOTSTRAP } from './support/kafka.ts'
import {
  alertsOnTopic,
  dropDatabase,
  freshDatabase,
  ROOT,
  sortMessages,
  storedResults,
} from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const SAMPLE = join(ROOT, 'fixtures', 'sample-events.jsonl')
const lines = readFileSync(SAMPLE, 'utf8').split('\n').slice(0, -1)
const expected = analyze(lines)
const scratch = mkdtempSync(join(tmpdir(), 'invpipe-replay-sinks-'))
let database = ''
afterAll(async () => {
  if (database) await dropDatabase(database)
  rmSync(scratch, { recursive: true, force: true })
})

test('replay into PostgreSQL, Redis and Kafka gives the results consume would store', async () => {
  const id = `replay-sinks-${Date.now().toString(36)}`
  database = await freshDatabase(id)
  const alertTopic = `alerts-${id}`
  const proc = Bun.spawnSync(
    [
      'bun',
      join(ROOT, 'src/main.ts'),
      'replay',
      SAMPLE,
      '--sinks',
      'parquet,postgres,redis,kafka',
      '--json',
      '--batch-size',
      '250',
    ],
    {
      env: {
        PATH: process.env.PATH ?? '',
        POSTGRES_DB: database,
        ALERT_TOPIC: alertTopic,
        KAFKA_BOOTSTRAP_SERVERS: BOOTSTRAP,
        DATA_DIR: join(scratch, 'data'),
        REDIS_TTL_SECONDS: '900',
      },
    },
  )
  expect(proc.stderr.toString()).not.toContain('unexpected')
  expect(proc.exitCode).toBe(0)
  const stored = await storedResults(database)
  expect(firstDifference(stored.final, expected.final)).toBeNull()
  expect(firstDifference(stored.daily, expected.daily)).toBeNull()
  // Every message of every episode, as replay's core made it (message_id, status, reason, ...).
  const alerts = await alertsOnTopic(alertTopic)
  expect(firstDifference(alerts, sortMessages(expected.alerts))).toBeNull()
  expect(new Set(alerts.map((a) => a.status)).size).toBeGreaterThan(1)
  const redis = new Redis({
    host: process.env.REDIS_HOST ?? 'localhost',
    port: Number(process.env.REDIS_PORT ?? 6379),
  })
  try {
    for (const row of expected.final) {
      const key = `metrics:${row.sku}:${row.warehouse_id}`
      const hash = await redis.hgetall(key)
      expect(hash.risk_level).toBe(row.risk_level as string)
      expect(hash.on_order).toBe(String(row.on_order))
      expect(hash.expected_stockout_date).toBe((row.expected_stockout_date as string | null) ?? '')
      expect(await redis.ttl(key)).toBeLessThanOrEqual(900)
    }
  } finally {
    redis.disconnect()
  }
}, 120_000)

test('an unknown sink is a one-line error before anything runs', () => {
  const result = invpipe(['replay', SAMPLE, '--sinks', 'parquet,s3'])
  expect(result.code).toBe(2)
  expect(result.stderr.trim()).toBe(
    'invpipe: --sinks: unknown sink s3 (expected parquet, postgres, redis, kafka)',
  )
})
