// `invpipe consume` against the real stack (Apache Kafka, PostgreSQL, Redis): it must give the same
// processed metrics, daily history and alerts as replay of the same events, whatever the batch
// size and the number of instances, and deliver Redis hashes, dead letters and Parquet files.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { DuckDBInstance } from '@duckdb/node-api'
import Redis from 'ioredis'
import { DLQ_HEADERS } from '../src/sinks/kafka.ts'
import { analyze, firstDifference } from './support/analyze.ts'
import { invpipe } from './support/cli.ts'
import { generatedLines } from './support/events.ts'
import {
  deleteRecordsUpTo,
  keyOfLine,
  moveGroupOffsets,
  produceKeyed,
  produceLines,
  readTopic,
  waitForGroup,
} from './support/kafka.ts'
import { OwnRedis, ownRedisAvailable } from './support/servers.ts'
import {
  alertsOnTopic,
  type ConsumeRun,
  Scenarios,
  sortMessages,
  startConsume,
  stoppedSummary,
  storedOffsets,
  storedResults,
  waitForOffsets,
} from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const lines = generatedLines({ events: 2500, skus: 6, warehouses: 3, days: 45, seed: 20261125 })
const expected = analyze(lines)
const scenarios = new Scenarios()
afterAll(() => scenarios.cleanup())
const prepare = (label: string, batchSize: number, env: Record<string, string> = {}) =>
  scenarios.prepare(label, lines, batchSize, env)

async function runToEnd(run: ConsumeRun, instances: number) {
  const processes = Array.from({ length: instances }, () => startConsume(run))
  return Promise.all(
    processes.map(async (proc) => {
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      return { code, stderr, summary: stoppedSummary(stderr) }
    }),
  )
}

async function consumeToEnd(run: ConsumeRun, instances: number) {
  const results = await runToEnd(run, instances)
  for (const result of results) {
    if (result.code !== 0) throw new Error(`consume exited ${result.code}:\n${result.stderr.slice(-3000)}`)
  }
  return results
}

/**
 * A run without faults logs JSON lines only, and no warning or error: no connection race at the
 * start (Redis written before it is connected), no runtime warning (kafkajs' TimeoutNegativeWarning).
 */
function expectQuietLog(stderr: string) {
  const parsed = jsonLog(stderr)
  expect(parsed.filter((l) => l.level === 'warn' || l.level === 'error').map((l) => l.message)).toEqual([])
}

/** The log's lines, each of which must be a JSON object. */
function jsonLog(stderr: string): { level: string; message: string }[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as { level: string; message: string }
      } catch {
        throw new Error(`not a JSON log line: ${line}`)
      }
    })
}

const expectedAlerts = sortMessages(expected.alerts)

/** Checks what PostgreSQL and the alert topic hold against replay's results. */
async function expectReplayResults(run: ConsumeRun) {
  const stored = await storedResults(run.database)
  expect(firstDifference(stored.final, expected.final)).toBeNull()
  expect(firstDifference(stored.daily, expected.daily)).toBeNull()
  expect(firstDifference(await alertsOnTopic(run.alertTopic), expectedAlerts)).toBeNull()
}

function totalCounts(summaries: (Record<string, number> | null)[]) {
  return summaries.reduce<{ read: number; rejected: number }>(
    (sum, s) => ({ read: sum.read + (s?.read ?? 0), rejected: sum.rejected + (s?.rejected ?? 0) }),
    { read: 0, rejected: 0 },
  )
}

describe('consume equals replay', () => {
  for (const batchSize of [1, 100, 5000]) {
    test(`BATCH_SIZE ${batchSize}, one instance`, async () => {
      const run = await prepare(`b${batchSize}`, batchSize)
      const results = await consumeToEnd(run, 1)
      await expectReplayResults(run)
      expectQuietLog(results[0]?.stderr ?? '')
      expect(totalCounts(results.map((r) => r.summary))).toEqual({
        read: expected.counts.read,
        rejected: expected.counts.rejected,
      })
    }, 180_000)
  }

  for (const batchSize of [1, 100, 5000]) {
    test(`BATCH_SIZE ${batchSize}, three instances at once sharing the partitions`, async () => {
      const run = await scenarios.prepare(`b${batchSize}x3`, lines, batchSize, {}, false)
      // Started on an empty topic and left to settle, so that each instance owns one partition.
      const processes = Array.from({ length: 3 }, () => startConsume(run, []))
      await waitForGroup(run.group, 3).catch(async (error) => {
        for (const proc of processes) proc.kill('SIGKILL')
        const logs = await Promise.all(processes.map((proc) => new Response(proc.stderr).text()))
        throw new Error(`${error.message}\n${logs.map((l) => l.slice(-1500)).join('\n---\n')}`)
      })
      await produceLines(run.topic, lines)
      await waitForOffsets(run.database, lines.length)
      for (const proc of processes) proc.kill('SIGTERM')
      const results = await Promise.all(
        processes.map(async (proc) => ({
          code: await proc.exited,
          stderr: await new Response(proc.stderr).text(),
        })),
      )
      for (const result of results) expect(result.code).toBe(0)
      for (const result of results) jsonLog(result.stderr)
      const summaries = results.map((r) => stoppedSummary(r.stderr))
      // Every instance committed batches of its own: the work was really split.
      expect(summaries.map((s) => (s?.batches ?? 0) > 0)).toEqual([true, true, true])
      expect(totalCounts(summaries)).toEqual({
        read: expected.counts.read,
        rejected: expected.counts.rejected,
      })
      await expectReplayResults(run)
    }, 180_000)
  }
})

describe('consume delivers to every store', () => {
  let run: ConsumeRun
  /** The processed-metrics rows the run committed, by its exit summary. */
  let committedRows: number
  // A Redis server of its own where one can be started: the stack's is shared with other runs that
  // write the same item keys (the same generator), and a hash is never replaced by an older row.
  const ownRedis = ownRedisAvailable ? new OwnRedis() : null
  const redisAddress = ownRedis
    ? { host: '127.0.0.1', port: ownRedis.port }
    : { host: process.env.REDIS_HOST ?? 'localhost', port: Number(process.env.REDIS_PORT ?? 6379) }
  beforeAll(async () => {
    await ownRedis?.start()
    run = await prepare('stores', 50, {
      REDIS_HOST: redisAddress.host,
      REDIS_PORT: String(redisAddress.port),
      REDIS_TTL_SECONDS: '1800',
      PARQUET_ROWS_PER_FILE: '200',
    })
    const [result] = await consumeToEnd(run, 1)
    committedRows = result?.summary?.rows as number
  }, 120_000)
  afterAll(() => ownRedis?.destroy())

  test('Redis: a metrics hash per item with the SPEC §7 fields and the configured TTL', async () => {
    const redis = new Redis(redisAddress)
    try {
      // The stream has items with open orders: on_order is really exercised.
      expect(expected.final.some((row) => (row.on_order as number) > 0)).toBe(true)
      for (const row of expected.final) {
        const key = `metrics:${row.sku}:${row.warehouse_id}`
        const hash = await redis.hgetall(key)
        expect(Object.keys(hash).sort()).toEqual(
          [
            'as_of_date',
            'expected_stockout_date',
            'last_updated',
            'on_hand',
            'on_order',
            'reorder_quantity',
            'risk_level',
            'stockout_risk',
            'velocity_30d',
            'velocity_7d',
          ].sort(),
        )
        expect(Number(hash.velocity_7d)).toBeCloseTo(row.velocity_7d as number, 9)
        expect(hash.stockout_risk).toBe(row.stockout_risk === null ? '' : String(row.stockout_risk))
        expect(hash.risk_level).toBe(row.risk_level as string)
        expect(hash.as_of_date).toBe(row.as_of_date as string)
        expect(Number(hash.on_order)).toBe(row.on_order as number)
        expect(hash.expected_stockout_date).toBe((row.expected_stockout_date as string | null) ?? '')
        const ttl = await redis.ttl(key)
        expect(ttl).toBeGreaterThan(1700)
        expect(ttl).toBeLessThanOrEqual(1800)
      }
    } finally {
      redis.disconnect()
    }
  })

  test('alerts: the episodes’ messages (SPEC §6), keyed by item, with message_id, status and reason', async () => {
    const messages = await alertsOnTopic(run.alertTopic)
    expect(firstDifference(messages, expectedAlerts)).toBeNull()
    const statuses = new Set(messages.map((m) => m.status))
    // The stream holds whole episodes: opened, moved on and closed.
    expect([...statuses].sort()).toEqual(['escalated', 'raised', 'reminder', 'resolved'])
    const episodes = new Set<string>()
    for (const message of messages) {
      const alertId = message.alert_id as string
      episodes.add(alertId)
      // alert_id: the item and the as-of day the episode opened; message_id: {alert_id}:{n}.
      expect(alertId).toStartWith(`${message.sku}:${message.warehouse_id}:`)
      expect(alertId.slice(-10) <= (message.as_of_date as string)).toBe(true)
      const n = (message.message_id as string).slice(alertId.length)
      expect(n).toMatch(/^:\d+$/)
      // Every episode opens with `raised`, and only its first message is.
      expect(message.status === 'raised').toBe(n === ':1')
      expect((message.reason as string).length).toBeGreaterThan(10)
      expect(Array.isArray(message.open_orders)).toBe(true)
      expect(message).toHaveProperty('expected_stockout_date')
    }
    // Several messages share an alert_id.
    expect(messages.length).toBeGreaterThan(episodes.size)
  })

  test('dead letters: original bytes, reason and source position in headers', async () => {
    const letters = await readTopic(run.dlqTopic)
    expect(letters).toHaveLength(expected.rejects.length)
    const byLine = new Map(expected.rejects.map((r) => [lines[r.line - 1], r.code]))
    for (const letter of letters) {
      expect(byLine.has(letter.value as string)).toBe(true)
      expect(letter.headers[DLQ_HEADERS.code]).toBe(byLine.get(letter.value as string) as string)
      expect((letter.headers[DLQ_HEADERS.message] ?? '').length).toBeGreaterThan(5)
      expect(letter.headers[DLQ_HEADERS.topic]).toBe(run.topic)
      expect(Number(letter.headers[DLQ_HEADERS.partition])).toBeGreaterThanOrEqual(0)
      expect(Number(letter.headers[DLQ_HEADERS.offset])).toBeGreaterThanOrEqual(0)
    }
  })

  test('Parquet: every committed row in exactly one file, the last per item equal to PostgreSQL', async () => {
    const db = await DuckDBInstance.create(':memory:')
    const connection = await db.connect()
    const files = `read_parquet('${run.dataDir}/*.parquet')`
    const [counts] = (
      await connection.runAndReadAll(
        `SELECT count(*)::INT AS rows, count(DISTINCT (sku, warehouse_id, event_count))::INT AS distinct_rows, count(DISTINCT filename)::INT AS files FROM read_parquet('${run.dataDir}/*.parquet', filename = true)`,
      )
    ).getRowObjectsJson()
    expect(counts?.rows).toBe(counts?.distinct_rows as number)
    // As many as the run committed (a row per changed item per batch: at least one per item).
    expect(committedRows).toBeGreaterThanOrEqual(expected.final.length)
    expect(counts?.rows).toBe(committedRows)
    expect(counts?.files as number).toBeGreaterThan(1)
    const latest = (
      await connection.runAndReadAll(
        `SELECT sku, warehouse_id, event_count, on_hand, stockout_risk, on_order, inventory_position,
           strftime(expected_stockout_date, '%Y-%m-%d') AS expected_stockout_date FROM ${files}
         QUALIFY row_number() OVER (PARTITION BY sku, warehouse_id ORDER BY event_count DESC) = 1 ORDER BY sku, warehouse_id`,
      )
    ).getRowObjectsJson()
    const summarize = (rows: Record<string, unknown>[]) =>
      rows.map((r) =>
        JSON.stringify([
          r.sku,
          r.warehouse_id,
          Number(r.event_count),
          r.on_hand,
          r.stockout_risk,
          r.on_order,
          r.inventory_position,
          r.expected_stockout_date,
        ]),
      )
    expect(summarize(latest)).toEqual(summarize(expected.final))
    connection.closeSync()
  })
})

describe('outages and set-up', () => {
  test('with Redis unreachable, PostgreSQL and Parquet still get everything; the exit says how many items are stale, and fails', async () => {
    // Port 9 (discard) on loopback: nothing listens there, so every Redis write fails at once.
    const run = await prepare('noredis', 500, { REDIS_PORT: '9' })
    const [result] = await runToEnd(run, 1)
    expect(result?.code).toBe(1)
    const stored = await storedResults(run.database)
    expect(firstDifference(stored.final, expected.final)).toBeNull()
    // One warning for the outage, with its cause; one line at the exit with the count.
    expect(result?.stderr.match(/"level":"warn","message":"redis: [^"]*ECONNREFUSED/g)).toHaveLength(1)
    expect(result?.stderr).toContain(
      `at exit: redis: ${expected.final.length} items not written (connect ECONNREFUSED`,
    )
  }, 120_000)

  test('Ctrl-C while Kafka does not answer at start: the exit does not wait out its retries, one line names the cause, status 1', async () => {
    // Port 9 (discard) on loopback: nothing listens, every connection is refused; kafkajs would retry for ~20 s.
    const run = await scenarios.prepare('nokafka', lines, 100, {}, false)
    const proc = startConsume({ ...run, bootstrap: '127.0.0.1:9' }, [])
    const reader = proc.stderr.getReader()
    let stderr = ''
    while (!stderr.includes('"message":"kafka: ')) {
      const { value, done } = await reader.read()
      if (done) break
      stderr += new TextDecoder().decode(value)
    }
    const signalled = performance.now()
    proc.kill('SIGINT')
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      stderr += new TextDecoder().decode(value)
    }
    expect(await proc.exited).toBe(1)
    // The grace a start still under way gets (2 s) and the exit; not kafkajs' retries.
    expect((performance.now() - signalled) / 1000).toBeLessThan(6)
    const errors = jsonLog(stderr).filter((entry) => entry.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(/^consume failed: stopped while starting: .*kafka: .*ECONNREFUSED/)
  }, 60_000)

  test('a PostgreSQL role that does not exist: one line naming the database, status 1', async () => {
    const run = await scenarios.prepare(
      'norole',
      lines,
      100,
      { POSTGRES_USER: 'invpipe_no_such_role' },
      false,
    )
    const proc = startConsume(run)
    const stderr = await new Response(proc.stderr).text()
    expect(await proc.exited).toBe(1)
    const errors = jsonLog(stderr).filter((entry) => entry.level === 'error')
    expect(errors).toHaveLength(1)
    expect(errors[0]?.message).toMatch(
      new RegExp(
        `^consume failed: PostgreSQL invpipe_no_such_role@[^ ]+/${run.database}: role "invpipe_no_such_role" does not exist \\(28000\\)$`,
      ),
    )
  })

  test('a group whose offsets Kafka already holds, on a new database, reads every partition from its beginning', async () => {
    const run = await prepare('regroup', 500)
    // Kafka's copy of the group's offsets at a partition's end (as a run against another database
    // leaves it) or halfway; nothing stored in PostgreSQL means nothing processed yet, so all of it
    // must come.
    await moveGroupOffsets(run.group, run.topic, (partition) => (partition === 0 ? 0.5 : 1))
    const proc = startConsume(run)
    // Without the look-up of where each partition begins, this drain never ended (it waited for
    // offsets that no fetch would bring) and the first half of partition 0 went unread.
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
    clearTimeout(timer)
    expect(code, stderr.slice(-2000)).toBe(0)
    expect(totalCounts([stoppedSummary(stderr)]).read).toBe(expected.counts.read)
    await expectReplayResults(run)
  }, 180_000)

  test('events the broker deleted before they were read: reported when found and at the exit (status 1), the rest consumed', async () => {
    const half = Math.floor(lines.length / 2)
    const run = await scenarios.prepare('gone', lines.slice(0, half), 500)
    await consumeToEnd(run, 1)
    const stored = await storedOffsets(run.database)
    await produceLines(run.topic, lines.slice(half))
    // Retention (here DeleteRecords) takes the first 5 events after each partition's stored offset.
    await deleteRecordsUpTo(run.topic, (partition) => (stored.get(partition) ?? 0) + 5)
    // What the topic still holds: the second half but those 15.
    const survivors = (await readTopic(run.topic)).map((message) => message.value as string)
    expect(survivors).toHaveLength(lines.length - half - 15)
    const proc = startConsume(run)
    // Before, kafkajs reset to the partition's beginning, the consumer moved back to the stored
    // offset, and so on for ever (two log lines each time).
    const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000)
    const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
    clearTimeout(timer)
    expect(code, stderr.slice(-2000)).toBe(1)
    const messages = jsonLog(stderr).map((line) => line.message)
    expect(messages.filter((m) => m.startsWith('events deleted by the broker'))).toHaveLength(3)
    for (const [partition, offset] of stored)
      expect(messages).toContain(
        `at exit: offsets ${offset}–${offset + 4} of partition ${partition} were deleted by the broker before they were read (retention)`,
      )
    expect(stoppedSummary(stderr)?.read).toBe(lines.length - half - 15)
    // What PostgreSQL holds is the analysis of the events that were there to read.
    const survived = analyze([...lines.slice(0, half), ...survivors])
    const results = await storedResults(run.database)
    expect(firstDifference(results.final, survived.final)).toBeNull()
    expect(firstDifference(results.daily, survived.daily)).toBeNull()
  }, 180_000)

  test('invpipe migrate creates the schema once and is idempotent', async () => {
    const database = await scenarios.database('migrate')
    const migrate = () => invpipe(['migrate'], { env: { POSTGRES_DB: database } })
    const first = migrate()
    expect(first.code).toBe(0)
    expect(first.stdout).toContain(
      'applied migrations 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11; schema at version 11',
    )
    const second = migrate()
    expect(second.stdout.trim()).toBe('schema already at version 11')
  })
})

describe('message keys', () => {
  test('an event keyed differently from its item is dead-lettered as key_mismatch, the rest consumed', async () => {
    const good = lines
      .filter((line) => keyOfLine(line) !== 'unparseable' && !line.includes('"schema_version":2'))
      .slice(0, 20)
    const event = JSON.parse(good[0] as string)
    const stray = JSON.stringify({ ...event, event_id: 'stray-1' })
    const run = await scenarios.prepare('keys', good, 100)
    await produceKeyed(run.topic, [{ key: 'some-other-key', value: stray }])
    await consumeToEnd(run, 1)
    const letters = await readTopic(run.dlqTopic)
    const strayLetter = letters.find((l) => l.value === stray)
    expect(strayLetter?.headers[DLQ_HEADERS.code]).toBe('key_mismatch')
    expect(strayLetter?.key).toBe('some-other-key')
  }, 120_000)
})
