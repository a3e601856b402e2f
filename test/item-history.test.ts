// `invpipe item SKU WAREHOUSE` with no file reads the item's story from the history stored in
// PostgreSQL, on the real database: it must be the story the event files give (--json, the table,
// --html), except what only one source can know. Two ways the history is written: `replay --sinks
// postgres` (through the CLI; it stores no alert message), and consume's own commit
// (PostgresStore.commitBatch, in batches of 1–12 with restarts from the stored states, alert
// messages left in the outbox as when the alert topic has not confirmed them yet).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { ALERT_LOG_DAYS, ALERT_LOG_SWEEP_MS, AlertRelay } from '../src/consume/alert-relay.ts'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { itemKey, parseEvent } from '../src/core/event.ts'
import { Telemetry } from '../src/observability.ts'
import { migrate } from '../src/postgres/migrations.ts'
import { outgoingAlert } from '../src/sinks/kafka.ts'
import { PostgresStore, type StoredAlert } from '../src/sinks/postgres.ts'
import { invpipe } from './support/cli.ts'
import { generatedLines } from './support/events.ts'
import { createTopic, testKafka } from './support/kafka.ts'
import { connect, Scenarios } from './support/stack.ts'

// Spawns a process per story on 2 loaded cores.
setDefaultTimeout(120_000)

const scenarios = new Scenarios()
afterAll(() => scenarios.cleanup())

const lines = generatedLines({ events: 2500, skus: 5, warehouses: 2, days: 60, seed: 20260412 })
let eventsPath = ''

const run = (args: string[], env: Record<string, string> = {}) =>
  invpipe(args, { cwd: scenarios.scratchDir, env })

function story(args: string[], env: Record<string, string> = {}) {
  const result = run(['item', ...args, '--json'], env)
  if (result.code !== 0) throw new Error(`item ${args.join(' ')} exited ${result.code}: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

interface Day {
  alerts: unknown[]
}

/** The story without what says where it came from and how its events were counted. */
function figures(json: Record<string, unknown>, withAlerts = true) {
  const { source: _, events: __, duplicates: ___, ...rest } = json
  if (withAlerts) return rest
  return { ...rest, days: (rest.days as Day[]).map(({ alerts: _a, ...day }) => day) }
}

/**
 * Items worth telling: the busiest, and the first with each of a duplicate, a late event, a
 * purchase order, a stock count (the generated stream has every kind).
 */
function chosenItems(): [string, string][] {
  const events = new Map<string, number>()
  const seen = new Set<string>()
  const latest = new Map<string, number>()
  const picks = new Set<string>()
  for (const line of lines) {
    const parsed = parseEvent(line)
    if (!parsed.ok) continue
    const event = parsed.event
    const key = itemKey(event.sku, event.warehouseId)
    events.set(key, (events.get(key) ?? 0) + 1)
    if (picks.size < 5) {
      if (seen.has(`${key}|${event.eventId}`)) picks.add(key)
      else if (event.ts < (latest.get(key) ?? 0) - 86_400_000) picks.add(key)
      else if (event.type === 'purchase_order' && picks.size < 3) picks.add(key)
    }
    seen.add(`${key}|${event.eventId}`)
    latest.set(key, Math.max(latest.get(key) ?? 0, event.ts))
  }
  const busiest = [...events.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] as string
  picks.add(busiest)
  return [...picks].map((key) => key.split(':') as [string, string])
}

beforeAll(() => {
  eventsPath = join(scenarios.scratchDir, 'events.jsonl')
  writeFileSync(eventsPath, `${lines.join('\n')}\n`)
})

describe('replay --sinks postgres, then invpipe item from the history', () => {
  let env: Record<string, string> = {}
  beforeAll(async () => {
    env = { POSTGRES_DB: await scenarios.database('item-replay') }
    const replay = run(['replay', eventsPath, '--sinks', 'postgres', '--batch-size', '7'], {
      ...env,
      DATA_DIR: join(scenarios.scratchDir, 'replay'),
    })
    expect(replay.stderr).not.toContain('unexpected')
    expect(replay.code).toBe(0)
  })

  test('--json: the days, the figures at each close and where the item stands now are the files’', () => {
    const items = chosenItems()
    expect(items.length).toBeGreaterThanOrEqual(3)
    let alerts = 0
    let duplicates = 0
    for (const [sku, warehouse] of items) {
      const files = story([sku, warehouse, eventsPath])
      const history = story([sku, warehouse], env)
      expect(figures(history, false)).toEqual(figures(files, false))
      expect(history.source).toEqual({
        kind: 'postgresql',
        database: expect.stringContaining(env.POSTGRES_DB as string),
      })
      // The history counts the events applied; the files count the duplicates too.
      expect(history.events).toBe(files.events - files.duplicates)
      expect(history.duplicates).toBeNull()
      // replay --sinks postgres stores no alert message.
      expect(history.days.every((day: Day) => day.alerts.length === 0)).toBe(true)
      alerts += files.days.reduce((n: number, day: Day) => n + day.alerts.length, 0)
      duplicates += files.duplicates
      expect(history.days.length).toBeGreaterThan(20)
    }
    // Not a vacuous comparison: the files' stories had messages and duplicates to tell.
    expect(alerts).toBeGreaterThan(0)
    expect(duplicates).toBeGreaterThan(0)
  })

  test('the settings apply to the figures at each close, as for the files', () => {
    const [sku, warehouse] = chosenItems()[0] as [string, string]
    const settings = ['--lead-time-days', '12', '--service-level', '0.9']
    const files = story([sku, warehouse, eventsPath, ...settings])
    const history = story([sku, warehouse, ...settings], env)
    expect(figures(history, false)).toEqual(figures(files, false))
    expect(figures(history, false)).not.toEqual(figures(story([sku, warehouse], env), false))
  })

  test('the table: the same lines, under a header that names the history', () => {
    const [sku, warehouse] = chosenItems()[0] as [string, string]
    const files = run(['item', sku, warehouse, eventsPath])
    const history = run(['item', sku, warehouse], env)
    expect(history.code).toBe(0)
    const table = (text: string) =>
      text
        .slice(text.indexOf('\ndate '))
        .split('\n')
        // Alert messages (and their wrapped lines) are the files' only.
        .filter((line) => !line.startsWith('    '))
    expect(table(history.stdout)).toEqual(table(files.stdout))
    expect(history.stdout).toMatch(
      new RegExp(
        `^${sku} at ${warehouse}: \\d+ events applied, \\d{4}-\\d\\d-\\d\\d … \\d{4}-\\d\\d-\\d\\d\\n`,
      ),
    )
    expect(history.stdout).toContain(`from the PostgreSQL history in inventory_user@`)
    expect(history.stdout.replace(/\s+/g, ' ')).toContain(
      'alert messages: every one consume committed in the last 90 days, sent or waiting',
    )
    for (const line of history.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(120)
  })
})

describe("consume's commits, alert messages sent or still waiting", () => {
  let database = ''
  let sql: Sql
  beforeAll(async () => {
    ;({ database, sql } = await scenarios.migrated('item-consume'))
    await commitLikeConsume(sql)
    // As the alert relay does once the topic has them: half of the messages confirmed sent.
    const store = new PostgresStore(sql, 'group')
    const waiting = await store.unsentAlerts(0, 100_000)
    await store.markAlertsSent(waiting.filter((_, i) => i % 2 === 0).map((alert) => alert.outboxId))
    expect((await store.unsentAlerts(0, 100_000)).length).toBe(Math.floor(waiting.length / 2))
  })

  test('--json is the files’ story, alert messages and all', () => {
    let messages = 0
    for (const [sku, warehouse] of chosenItems()) {
      const files = story([sku, warehouse, eventsPath])
      const history = story([sku, warehouse], { POSTGRES_DB: database })
      expect(figures(history)).toEqual(figures(files))
      messages += history.days.reduce((n: number, day: Day) => n + day.alerts.length, 0)
    }
    expect(messages).toBeGreaterThan(0)
  })

  test('--html: the same chart, messages and table; the page names the history', () => {
    const [sku, warehouse] = chosenItems()[0] as [string, string]
    const env = { POSTGRES_DB: database }
    expect(run(['item', sku, warehouse, eventsPath, '--html', 'files.html']).code).toBe(0)
    const result = run(['item', sku, warehouse, '--html', 'history.html'], env)
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('wrote history.html')
    const page = (name: string) =>
      readFileSync(join(scenarios.scratchDir, name), 'utf8').replace(/<p class="meta">[\s\S]*?<\/p>/, '')
    expect(page('history.html')).toEqual(page('files.html'))
    expect(readFileSync(join(scenarios.scratchDir, 'history.html'), 'utf8')).toContain(
      'from the PostgreSQL history in inventory_user@',
    )
    const nowhere = run(['item', sku, warehouse, '--html', 'no/such/dir/item.html'], env)
    expect(nowhere.stderr.trim()).toBe(
      'invpipe: --html no/such/dir/item.html: directory no/such/dir does not exist',
    )
    expect(nowhere.code).toBe(2)
  })
})

describe('the alert log keeps sent messages ALERT_LOG_DAYS', () => {
  test('consume start-up deletes the messages sent longer ago, never one waiting to be sent', async () => {
    const { sql } = await scenarios.migrated('item-alert-log')
    await commitLikeConsume(sql)
    const store = new PostgresStore(sql, 'group')
    const waiting = await store.unsentAlerts(0, 100_000)
    const [old, recent, unsent] = waiting as [StoredAlert, StoredAlert, StoredAlert]
    await store.markAlertsSent([old.outboxId, recent.outboxId])
    await sql`UPDATE analytics.alert_outbox SET sent_at = now() - interval '91 days' WHERE id = ${old.outboxId}`
    // One created long ago but never sent stays whatever its age.
    await sql`UPDATE analytics.alert_outbox SET created_at = now() - interval '200 days' WHERE id = ${unsent.outboxId}`
    expect(await store.forgetSentAlerts(ALERT_LOG_DAYS)).toBe(1)
    const left = await sql<{ id: number }[]>`SELECT id FROM analytics.alert_outbox`
    expect(left.length).toBe(waiting.length - 1)
    expect(left.map((row) => Number(row.id))).not.toContain(old.outboxId)
    expect((await store.unsentAlerts(0, 100_000)).map((a) => a.outboxId)).toContain(unsent.outboxId)
  })

  test('a consume that keeps running sweeps it every ALERT_LOG_SWEEP_MS, not only at start-up', async () => {
    const { sql } = await scenarios.migrated('item-alert-sweep')
    await commitLikeConsume(sql)
    const store = new PostgresStore(sql, 'group')
    const [first, second] = (await store.unsentAlerts(0, 100_000)) as [StoredAlert, StoredAlert]
    await store.markAlertsSent([first.outboxId, second.outboxId])
    const sentLongAgo = (id: number) =>
      sql`UPDATE analytics.alert_outbox SET sent_at = now() - interval '91 days' WHERE id = ${id}`
    const kept = async (id: number) =>
      (await sql`SELECT 1 FROM analytics.alert_outbox WHERE id = ${id}`).length === 1
    let clock = Date.now()
    let sweeps = 0
    const forget = store.forgetSentAlerts.bind(store)
    store.forgetSentAlerts = (days: number) => {
      sweeps++
      return forget(days)
    }
    const relay = new AlertRelay(
      () => null,
      'alerts',
      store,
      new Telemetry(),
      () => clock,
    )
    await sentLongAgo(first.outboxId)
    expect(await relay.sweepAlertLog()).toBe(1) // as at start-up
    await sentLongAgo(second.outboxId)
    clock += ALERT_LOG_SWEEP_MS - 1
    relay.followUp(5_000)
    expect(sweeps).toBe(1)
    clock += 1
    relay.followUp(5_000) // the pipeline's maintenance, every second
    for (let tries = 0; tries < 50 && (await kept(second.outboxId)); tries++) await Bun.sleep(100)
    expect(await kept(second.outboxId)).toBe(false)
  })
})

/**
 * As consume runs two partitions: each item's events in order in one of them, batches of 1–12
 * committed with their alert messages (never confirmed sent), and now and then a restart that
 * resumes from the states PostgreSQL holds.
 */
async function commitLikeConsume(sql: Sql): Promise<void> {
  const store = new PostgresStore(sql, 'group')
  let seed = 12345
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31
    return seed / 2 ** 31
  }
  const partitions: string[][] = [[], []]
  for (const line of lines) {
    const parsed = parseEvent(line)
    const key = parsed.ok ? itemKey(parsed.event.sku, parsed.event.warehouseId) : ''
    let hash = 0
    for (let i = 0; i < key.length; i++) hash = (hash * 31 + key.charCodeAt(i)) % 997
    partitions[hash % 2]?.push(line)
  }
  for (const [number, partition] of partitions.entries()) {
    let engine = new Engine(core, { trackDaily: true })
    let committed = 0
    while (committed < partition.length) {
      const chunk = partition.slice(committed, committed + 1 + Math.floor(next() * 12))
      for (const line of chunk) {
        const parsed = parseEvent(line)
        if (parsed.ok) engine.process(parsed.event)
      }
      const batch = engine.flush(Date.UTC(2026, 3, 1))
      const position = {
        topic: 'events',
        partition: number,
        expectedOffset: committed === 0 ? null : committed,
        nextOffset: committed + chunk.length,
      }
      await store.commitBatch(
        position,
        batch,
        batch.alerts.map((alert) => outgoingAlert(alert, Date.UTC(2026, 3, 1))),
      )
      committed += chunk.length
      if (next() < 0.15) {
        const saved = await store.loadPartition('events', number)
        engine = new Engine(core, { trackDaily: true })
        engine.restore(saved.states)
      }
    }
  }
}

describe('the alert relay keeps an episode in order', () => {
  test('a message committed while a re-send pass reads the outbox is sent by a pass after it, not left behind', async () => {
    // The chaos test's rare failure: a pass under way had read an empty outbox when a commit landed
    // and asked for a re-send; it was handed that pass, which ended, and its message waited while
    // the next commit's (the same episode's next) went out first.
    const { sql } = await scenarios.migrated('item-relay-order')
    await commitLikeConsume(sql)
    const store = new PostgresStore(sql, 'group')
    const waiting = await store.unsentAlerts(0, 100_000)
    const late = waiting.at(-1) as StoredAlert
    await store.markAlertsSent(waiting.slice(0, -1).map((alert) => alert.outboxId))
    // Not committed yet, as the pass reads.
    await sql`UPDATE analytics.alert_outbox SET created_at = now() + interval '1 hour' WHERE id = ${late.outboxId}`
    const topic = `alerts-order-${Date.now().toString(36)}`
    await createTopic(topic, 1)
    const producer = testKafka().producer()
    await producer.connect()
    const read = Promise.withResolvers<void>()
    const release = Promise.withResolvers<void>()
    const unsent = store.unsentAlerts.bind(store)
    let reads = 0
    store.unsentAlerts = async (olderThanSeconds: number) => {
      const found = await unsent(olderThanSeconds)
      if (reads++ === 0) {
        read.resolve()
        await release.promise
      }
      return found
    }
    try {
      const relay = new AlertRelay(
        () => producer,
        topic,
        store,
        new Telemetry(),
        () => Date.now(),
      )
      relay.fallBehind()
      const pass = relay.resendUnsent(0)
      await read.promise
      await sql`UPDATE analytics.alert_outbox SET created_at = now() - interval '1 second' WHERE id = ${late.outboxId}`
      const committed = relay.committed([late])
      release.resolve()
      await Promise.all([pass, committed])
      expect(await unsent(0)).toEqual([])
      expect(relay.sent).toBe(1)
    } finally {
      await producer.disconnect()
    }
  })
})

describe('no story in the history', () => {
  test('an unmigrated database, an empty one, an unknown item (with the one meant), no server', async () => {
    const database = await scenarios.database('item-none')
    const env = { POSTGRES_DB: database }
    const unmigrated = run(['item', 'S1', 'W1'], env)
    expect(unmigrated.stderr.trim()).toBe(
      `invpipe: no history in PostgreSQL inventory_user@localhost:5432/${database}: the database is not migrated (run \`invpipe migrate\` and \`invpipe consume\` first), or name event files`,
    )
    expect(unmigrated.code).toBe(2)

    const sql = connect(database)
    await migrate(sql)
    const empty = run(['item', 'S1', 'W1'], env)
    expect(empty.stderr.trim()).toMatch(
      /^invpipe: no history in PostgreSQL .*: analytics.processed_metrics is empty/,
    )
    expect(empty.code).toBe(2)
    await sql`DELETE FROM public.invpipe_schema_migrations WHERE version >= 8`
    const old = run(['item', 'S1', 'W1'], env)
    expect(old.stderr.trim()).toMatch(
      /: its schema is at version 7, invpipe item reads version 8 \(run `invpipe migrate`/,
    )
    expect(old.code).toBe(2)
    await sql.end()

    const replayed = await scenarios.database('item-unknown')
    const path = join(scenarios.scratchDir, 'small.jsonl')
    writeFileSync(
      path,
      `${JSON.stringify({ event_id: 'e1', event_type: 'stock_count', sku: 'SKU-00042', warehouse_id: 'WH-07', quantity: 5, timestamp: '2026-03-01T08:00:00Z' })}\n`,
    )
    expect(
      run(['replay', path, '--sinks', 'postgres'], {
        POSTGRES_DB: replayed,
        DATA_DIR: join(scenarios.scratchDir, 'small'),
      }).code,
    ).toBe(0)
    const unknown = run(['item', 'SKU-00024', 'WH-07'], { POSTGRES_DB: replayed })
    expect(unknown.stderr.trim()).toBe(
      `invpipe: no history of SKU-00024 at WH-07 in PostgreSQL inventory_user@localhost:5432/${replayed} (did you mean SKU-00042 WH-07?)`,
    )
    expect(unknown.code).toBe(2)
    const elsewhere = run(['item', 'SKU-00042', 'WH-7'], { POSTGRES_DB: replayed })
    expect(elsewhere.stderr.trim()).toMatch(/\(did you mean SKU-00042 WH-07\?\)$/)
    const found = story(['SKU-00042', 'WH-07'], { POSTGRES_DB: replayed })
    expect(found.final.on_hand).toBe(5)

    const unreachable = run(['item', 'S1', 'W1'], { ...env, POSTGRES_PORT: '1' })
    expect(unreachable.stderr.trim()).toMatch(
      /^invpipe: PostgreSQL inventory_user@localhost:1\/\S+: .*\(ECONNREFUSED\)$/,
    )
    expect(unreachable.stderr.trim().split('\n')).toHaveLength(1)
    expect(unreachable.code).toBe(1)
    const badSetting = run(['item', 'S1', 'W1'], { POSTGRES_PORT: 'x' })
    expect(badSetting.stderr).toContain('POSTGRES_PORT')
    expect(badSetting.code).toBe(2)
  })
})
