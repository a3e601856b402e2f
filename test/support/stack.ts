// The real services for integration tests (started by scripts/stack/stack.sh): a database of its
// own per scenario, and `invpipe consume` run as the separate process it is in production.

import { expect } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import postgres from 'postgres'
import { MIGRATIONS, type Migration, migrate } from '../../src/postgres/migrations.ts'
import type { Analysis } from './analyze.ts'
import { BOOTSTRAP, createTopic, produceLines, readTopic } from './kafka.ts'

export const ROOT = join(import.meta.dir, '..', '..')

const pgEnv = {
  host: process.env.POSTGRES_HOST ?? 'localhost',
  port: Number(process.env.POSTGRES_PORT ?? 5432),
  username: process.env.POSTGRES_USER ?? 'inventory_user',
  password: process.env.POSTGRES_PASSWORD,
}

/** Where a PostgreSQL server is: the shared stack's unless a test brings its own. */
export interface PgAddress {
  host: string
  port: number
  username: string
}

export function connect(
  database: string,
  server?: PgAddress,
  pool: { max?: number; max_pipeline?: number } = {},
) {
  return postgres({
    ...pgEnv,
    ...server,
    database,
    max: 2,
    ...pool,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  })
}

/** Creates an empty database for one scenario and returns its name. */
export async function freshDatabase(label: string): Promise<string> {
  const name = `invpipe_t_${label.replace(/[^a-z0-9]/g, '_')}`
  const admin = connect(process.env.POSTGRES_DB ?? 'inventory')
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return name
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = connect(process.env.POSTGRES_DB ?? 'inventory')
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

export interface ConsumeRun {
  /** A PostgreSQL server of the test's own (default: the stack's). */
  pg?: PgAddress
  /** A broker of the test's own (default: the stack's). */
  bootstrap?: string
  topic: string
  database: string
  group: string
  alertTopic: string
  dlqTopic: string
  dataDir: string
  batchSize: number
  env?: Record<string, string>
}

export function consumeEnv(run: ConsumeRun): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    KAFKA_BOOTSTRAP_SERVERS: run.bootstrap ?? BOOTSTRAP,
    KAFKA_TOPIC: run.topic,
    KAFKA_GROUP_ID: run.group,
    ALERT_TOPIC: run.alertTopic,
    DLQ_TOPIC: run.dlqTopic,
    POSTGRES_DB: run.database,
    DATA_DIR: run.dataDir,
    BATCH_SIZE: String(run.batchSize),
    // No HTTP endpoint unless a test asks for one: instances run side by side.
    METRICS_PORT: '0',
    ...(run.pg
      ? { POSTGRES_HOST: run.pg.host, POSTGRES_PORT: String(run.pg.port), POSTGRES_USER: run.pg.username }
      : {}),
    ...run.env,
  }
}

/** Starts `invpipe consume` (with --drain unless told otherwise) as its own process. */
export function startConsume(run: ConsumeRun, args: string[] = ['--drain']) {
  // BENCH_CPU_PROF=DIR writes a CPU profile of the run there (bench:consume's profile).
  const profile = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : []
  return Bun.spawn(['bun', ...profile, join(ROOT, 'src/main.ts'), 'consume', ...args], {
    env: consumeEnv(run),
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

/** The JSON log line of the consumer's exit summary. */
export function stoppedSummary(stderr: string): Record<string, number> | null {
  const line = stderr
    .split('\n')
    .reverse()
    .find((l) => l.includes('"message":"stopped"'))
  return line ? JSON.parse(line) : null
}

/** What PostgreSQL holds, in the shape of replay's results. */
export async function storedResults(
  database: string,
  server?: PgAddress,
): Promise<Pick<Analysis, 'final' | 'daily'>> {
  const sql = connect(database, server)
  try {
    const final = await sql`
      SELECT sku, warehouse_id, as_of_date::text AS as_of_date,
        to_char(last_event_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS last_event_at,
        event_count, on_hand, velocity_7d, velocity_30d, volatility, trend, seasonality_index, days_of_history,
        lead_time_days, expected_demand_lead_time, stockout_risk, risk_level, days_of_cover, safety_stock,
        reorder_point, reorder_quantity, on_order, inventory_position,
        expected_stockout_date::text AS expected_stockout_date
      FROM analytics.processed_metrics ORDER BY sku, warehouse_id`
    const daily = await sql`
      SELECT sku, warehouse_id, date::text AS date, sold, returned, received, adjusted, closing_on_hand, stockout
      FROM analytics.daily_inventory ORDER BY sku, warehouse_id, date`
    return { final: [...final], daily: [...daily] }
  } finally {
    await sql.end()
  }
}

/**
 * The alert messages on the topic, one per message_id, without the wall-clock field, sorted by
 * message_id; a re-sent message must repeat the first exactly, and an item's messages must be in
 * the order the episode sent them.
 */
export async function alertsOnTopic(topic: string, brokers = BOOTSTRAP) {
  const byId = new Map<string, Record<string, unknown>>()
  const lastOfEpisode = new Map<string, number>()
  for (const message of await readTopic(topic, 30_000, brokers)) {
    const { generated_at: _, ...alert } = JSON.parse(message.value as string)
    expect(message.key).toBe(`${alert.sku}:${alert.warehouse_id}`)
    expect(message.headers['message-id']).toBe(alert.message_id)
    expect(message.headers['alert-id']).toBe(alert.alert_id)
    const earlier = byId.get(alert.message_id)
    if (earlier !== undefined) expect(alert).toEqual(earlier)
    else {
      // n of {alert_id}:{n} counts up within the episode; a re-send repeats an n already seen.
      const n = Number((alert.message_id as string).slice(alert.alert_id.length + 1))
      expect(n).toBe((lastOfEpisode.get(alert.alert_id) ?? 0) + 1)
      lastOfEpisode.set(alert.alert_id, n)
    }
    byId.set(alert.message_id, alert)
  }
  return sortMessages([...byId.values()])
}

/** Alert messages by message_id (the test's canonical order). */
export function sortMessages<T extends Record<string, unknown>>(messages: T[]): T[] {
  return [...messages].sort((a, b) => ((a.message_id as string) < (b.message_id as string) ? -1 : 1))
}

/**
 * The scenarios of one test file: each gets its own database, topics and data directory, with the
 * events produced to a 3-partition topic; cleanup() drops them all.
 */
export class Scenarios {
  readonly scratchDir = mkdtempSync(join(tmpdir(), 'invpipe-it-'))
  private readonly databases: string[] = []
  private readonly connections: postgres.Sql[] = []

  async database(label: string): Promise<string> {
    const name = await freshDatabase(`${label}-${Date.now().toString(36)}`)
    this.databases.push(name)
    return name
  }

  /**
   * A scenario whose topic already holds the lines (pass `produce: false` to produce them later);
   * on the test's own PostgreSQL server and broker when `own` names them.
   */
  async prepare(
    label: string,
    lines: string[],
    batchSize: number,
    env: Record<string, string> = {},
    produce = true,
    own: { pg?: PgAddress & { createDatabase(name: string): Promise<void> }; bootstrap?: string } = {},
  ): Promise<ConsumeRun> {
    const id = `${label}-${Date.now().toString(36)}`
    let database: string
    if (own.pg) {
      database = `invpipe_t_${id.replace(/[^a-z0-9]/g, '_')}`
      await own.pg.createDatabase(database)
    } else database = await this.database(label)
    const run: ConsumeRun = {
      ...(own.pg ? { pg: { host: own.pg.host, port: own.pg.port, username: own.pg.username } } : {}),
      ...(own.bootstrap ? { bootstrap: own.bootstrap } : {}),
      topic: `events-${id}`,
      database,
      group: `group-${id}`,
      alertTopic: `alerts-${id}`,
      dlqTopic: `dlq-${id}`,
      dataDir: join(this.scratchDir, id),
      batchSize,
      env,
    }
    await createTopic(run.topic, 3, run.bootstrap)
    if (produce) await produceLines(run.topic, lines, run.bootstrap)
    return run
  }

  /**
   * A fresh database with the migrations given (every one by default: pass a prefix of MIGRATIONS
   * for an installation of an older version) and a connection to it, ended at cleanup.
   */
  async migrated(label: string, migrations: readonly Migration[] = MIGRATIONS) {
    const database = await this.database(label)
    const sql = connect(database)
    this.connections.push(sql)
    await migrate(sql, migrations)
    return { database, sql }
  }

  async cleanup(): Promise<void> {
    for (const sql of this.connections.splice(0)) await sql.end()
    if (process.env.KEEP_TEST_DATABASES) return
    for (const name of this.databases) await dropDatabase(name)
    rmSync(this.scratchDir, { recursive: true, force: true })
  }
}

/** Waits until the group's offsets in PostgreSQL add up to `total` messages consumed. */
/** The next offset PostgreSQL holds for each partition. */
export async function storedOffsets(database: string): Promise<Map<number, number>> {
  const sql = connect(database)
  try {
    const rows = await sql<{ partition: number; next_offset: number }[]>`
      SELECT partition, next_offset FROM analytics.consumer_offsets`
    return new Map(rows.map((row) => [row.partition, Number(row.next_offset)]))
  } finally {
    await sql.end()
  }
}

export async function waitForOffsets(
  database: string,
  total: number,
  timeoutMs = 120_000,
  server?: PgAddress,
): Promise<void> {
  const sql = connect(database, server)
  try {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const [row] =
        await sql`SELECT coalesce(sum(next_offset), 0)::int AS done FROM analytics.consumer_offsets`.catch(
          () => [{ done: 0 }],
        )
      if ((row?.done ?? 0) >= total) return
      await Bun.sleep(200)
    }
    throw new Error(`offsets did not reach ${total} in ${timeoutMs} ms`)
  } finally {
    await sql.end()
  }
}
