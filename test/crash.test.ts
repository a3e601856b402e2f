// Crashes and stops: `consume` killed with SIGKILL at random instants and at the worst ones (inside
// the PostgreSQL commit, between a Parquet file and the release of its rows), then restarted,
// must end with replay's results, every Parquet row exactly once and every alert sent.
import { afterAll, describe, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DuckDBInstance } from '@duckdb/node-api'
import { DEFAULT_GENERATE_OPTIONS } from '../src/generate/options.ts'
import { lineText } from '../src/generate/record.ts'
import { generateEvents } from '../src/generate/stream.ts'
import { analyze, firstDifference } from './support/analyze.ts'
import { createTopic, produceLines, readTopic } from './support/kafka.ts'
import {
  type ConsumeRun,
  connect,
  dropDatabase,
  freshDatabase,
  startConsume,
  stoppedSummary,
} from './support/stack.ts'

const lines = [
  ...generateEvents({
    ...DEFAULT_GENERATE_OPTIONS,
    events: 1500,
    skus: 4,
    warehouses: 2,
    days: 30,
    seed: 77,
    malformedRate: 0.02,
    duplicateRate: 0.02,
    lateRate: 0.03,
  }),
].map(lineText)
const expected = analyze(lines)
const scratch = mkdtempSync(join(tmpdir(), 'invpipe-crash-'))
const databases: string[] = []
afterAll(async () => {
  if (process.env.KEEP_TEST_DATABASES) return
  for (const db of databases) await dropDatabase(db)
  rmSync(scratch, { recursive: true, force: true })
})

async function prepare(label: string, env: Record<string, string>): Promise<ConsumeRun> {
  const id = `${label}-${Date.now().toString(36)}`
  const database = await freshDatabase(id)
  databases.push(database)
  const run = {
    topic: `events-${id}`,
    database,
    group: `group-${id}`,
    alertTopic: `alerts-${id}`,
    dlqTopic: `dlq-${id}`,
    dataDir: join(scratch, id),
    batchSize: 1,
    env,
  }
  await createTopic(run.topic, 3)
  await produceLines(run.topic, lines)
  return run
}

/** A deterministic sequence in [0, 1), so a failing run can be repeated. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0
    return state / 2 ** 32
  }
}

async function verifyFinalState(run: ConsumeRun) {
  const sql = connect(run.database)
  try {
    const final = await sql`
      SELECT sku, warehouse_id, as_of_date::text AS as_of_date,
        to_char(last_event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_event_at,
        event_count, on_hand, velocity_7d, velocity_30d, volatility, trend, seasonality_index, days_of_history,
        lead_time_days, expected_demand_lead_time, stockout_risk, risk_level, days_of_cover, safety_stock,
        reorder_point, reorder_quantity
      FROM analytics.processed_metrics ORDER BY sku, warehouse_id`
    const daily = await sql`
      SELECT sku, warehouse_id, date::text AS date, sold, returned, received, adjusted, closing_on_hand, stockout
      FROM analytics.daily_inventory ORDER BY sku, warehouse_id, date`
    expect(firstDifference([...final], expected.final)).toBeNull()
    expect(firstDifference([...daily], expected.daily)).toBeNull()
    const [outbox] = await sql`SELECT count(*)::int AS rows FROM analytics.metrics_outbox`
    expect(outbox?.rows).toBe(0)
  } finally {
    await sql.end()
  }
}

/** With BATCH_SIZE 1 every applied event emits one row, so item by item the archive must hold event counts 1…final, once each. */
async function verifyParquetExactlyOnce(run: ConsumeRun) {
  const db = await DuckDBInstance.create(':memory:')
  const connection = await db.connect()
  const rows = (
    await connection.runAndReadAll(
      `SELECT sku, warehouse_id, count(*)::INT AS n, count(DISTINCT event_count)::INT AS distinct_counts, max(event_count)::INT AS last
       FROM read_parquet('${run.dataDir}/*.parquet') GROUP BY ALL ORDER BY sku, warehouse_id`,
    )
  ).getRowObjectsJson()
  connection.closeSync()
  expect(rows.map((r) => JSON.stringify([r.sku, r.warehouse_id, r.n, r.distinct_counts, r.last]))).toEqual(
    expected.final.map((r) =>
      JSON.stringify([r.sku, r.warehouse_id, r.event_count, r.event_count, r.event_count]),
    ),
  )
}

async function verifyAlerts(run: ConsumeRun) {
  const sent = new Map<string, string>()
  for (const message of await readTopic(run.alertTopic, expected.alerts.length, 20_000)) {
    const { generated_at: _, ...alert } = JSON.parse(message.value as string)
    const earlier = sent.get(alert.alert_id)
    // A re-sent alert (after a crash between sending and marking it sent) must be the same alert.
    if (earlier !== undefined) expect(JSON.stringify(alert)).toBe(earlier)
    sent.set(alert.alert_id, JSON.stringify(alert))
  }
  expect([...sent.keys()].sort()).toEqual(expected.alerts.map((a) => a.alert_id as string).sort())
}

describe('crash recovery', () => {
  test('at least 10 SIGKILLs at random and at chosen instants, then a clean run, give replay’s results', async () => {
    // A short session, so the group does not wait 30 s for each killed member before rebalancing.
    const env = { PARQUET_ROWS_PER_FILE: '40', PARQUET_FLUSH_SECONDS: '1', KAFKA_SESSION_TIMEOUT_MS: '6000' }
    const run = await prepare('crash', env)
    const next = random(20261125)
    const points = ['commit', 'parquet-written', 'parquet-renamed', 'after-commit'] as const
    let crashes = 0
    const kinds: string[] = []
    for (let attempt = 0; attempt < 40 && crashes < 12; attempt++) {
      const point = attempt % 3 === 2 ? null : (points[attempt % points.length] as string)
      const after = 1 + Math.floor(next() * (point === 'commit' || point === 'after-commit' ? 60 : 3))
      run.env =
        point === null ? env : { ...env, INVPIPE_CRASH_POINT: point, INVPIPE_CRASH_AFTER: String(after) }
      const proc = startConsume(run)
      if (point === null) {
        await Bun.sleep(800 + next() * 2500)
        proc.kill('SIGKILL')
      }
      await proc.exited
      if (proc.signalCode === 'SIGKILL') {
        crashes++
        kinds.push(point === null ? 'random instant' : `${point} #${after}`)
      }
    }
    expect(crashes).toBeGreaterThanOrEqual(10)
    run.env = env
    const last = startConsume(run)
    const [code, stderr] = await Promise.all([last.exited, new Response(last.stderr).text()])
    expect(code).toBe(0)
    expect(stoppedSummary(stderr)).not.toBeNull()
    console.log(`crash test: ${crashes} crashes (${kinds.join(', ')})`)
    await verifyFinalState(run)
    await verifyParquetExactlyOnce(run)
    await verifyAlerts(run)
  }, 600_000)

  test('SIGTERM finishes the batch in flight, flushes, commits and exits 0; a restart completes the work', async () => {
    const run = await prepare('sigterm', { PARQUET_ROWS_PER_FILE: '1000000', PARQUET_FLUSH_SECONDS: '3600' })
    const proc = startConsume(run, [])
    const sql = connect(run.database)
    try {
      // Wait until it is mid-stream: some offsets committed, not all.
      for (let i = 0; i < 200; i++) {
        await Bun.sleep(100)
        const [progress] =
          await sql`SELECT coalesce(sum(next_offset), 0)::int AS done FROM analytics.consumer_offsets`.catch(
            () => [{ done: 0 }],
          )
        if ((progress?.done ?? 0) > 50) break
      }
      proc.kill('SIGTERM')
      const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
      expect(code).toBe(0)
      expect(stderr).toContain('"signal":"SIGTERM"')
      // Flushed: the Parquet outbox is empty although neither its size nor its age was reached.
      const [outbox] = await sql`SELECT count(*)::int AS rows FROM analytics.metrics_outbox`
      expect(outbox?.rows).toBe(0)
      const [committed] = await sql`SELECT sum(next_offset)::int AS done FROM analytics.consumer_offsets`
      expect(committed?.done as number).toBeLessThan(lines.length)
    } finally {
      await sql.end()
    }
    const rest = startConsume(run)
    expect(await rest.exited).toBe(0)
    await verifyFinalState(run)
    await verifyParquetExactlyOnce(run)
  }, 300_000)
})
