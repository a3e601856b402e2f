import { afterAll, describe, expect, setDefaultTimeout, spyOn, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommand } from 'citty'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { generateCommand } from '../src/commands/generate.ts'
import { type InventoryEvent, itemKey, parseEvent, validateEvent } from '../src/core/event.ts'
import { messageKey } from '../src/generate/kafka-writer.ts'
import { MALFORMED_REASONS } from '../src/generate/malformed.ts'
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions } from '../src/generate/options.ts'
import { writeParquet } from '../src/generate/parquet-writer.ts'
import { type GeneratedLine, lineText } from '../src/generate/record.ts'
import { generateEvents } from '../src/generate/stream.ts'
import { BOOTSTRAP, readTopic } from './support/kafka.ts'
import { ROOT } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-generate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function optionsWith(overrides: Partial<GenerateOptions>): GenerateOptions {
  return { ...DEFAULT_GENERATE_OPTIONS, ...overrides }
}

function lines(overrides: Partial<GenerateOptions>): GeneratedLine[] {
  return Array.from(generateEvents(optionsWith(overrides)))
}

function jsonl(overrides: Partial<GenerateOptions>): string {
  return lines(overrides)
    .map((line) => `${lineText(line)}\n`)
    .join('')
}

describe('determinism', () => {
  const noisy = { events: 5000, malformedRate: 0.05, duplicateRate: 0.05, lateRate: 0.05 }

  test('the same seed gives identical bytes', () => {
    expect(jsonl({ ...noisy, seed: 7 })).toBe(jsonl({ ...noisy, seed: 7 }))
  })

  test('a different seed gives different events', () => {
    const stripIds = (text: string) => text.replace(/"event_id":"[^"]*"/g, '')
    expect(stripIds(jsonl({ ...noisy, seed: 7 }))).not.toBe(stripIds(jsonl({ ...noisy, seed: 8 })))
  })
})

describe('line count', () => {
  for (const overrides of [
    { events: 0 },
    { events: 1 },
    { events: 7, malformedRate: 1 },
    { events: 1234, duplicateRate: 1, lateRate: 1 },
    { events: 3000, days: 1 },
    { events: 500, skus: 5000, warehouses: 4 },
  ]) {
    test(`exactly ${overrides.events} lines for ${JSON.stringify(overrides)}`, () => {
      const text = jsonl(overrides)
      expect(text.length === 0 ? 0 : text.split('\n').length - 1).toBe(overrides.events)
    })
  }
})

describe('malformed lines', () => {
  const generated = lines({ events: 20_000, malformedRate: 0.1 })
  const malformed = generated.filter((line) => line.kind === 'malformed')

  test('make up about the requested share of lines', () => {
    const share = malformed.length / generated.length
    expect(share).toBeGreaterThan(0.09)
    expect(share).toBeLessThan(0.11)
  })

  test('are each rejected, with the code their kind calls for', () => {
    for (const line of malformed) {
      const result = parseEvent(line.text)
      expect(result.ok).toBe(false)
      if (!result.ok)
        expect({ reason: line.reason, code: result.rejection.code }).toEqual({
          reason: line.reason,
          code: line.expectedCode,
        })
    }
  })

  test('cover every kind of damage', () => {
    expect(new Set(malformed.map((line) => line.reason))).toEqual(new Set(MALFORMED_REASONS))
  })

  test('have a Parquet row that is rejected too', () => {
    for (const line of malformed) {
      expect(validateEvent(line.row).ok).toBe(false)
    }
  })
})

describe('well-formed events', () => {
  const generated = lines({ events: 20_000, duplicateRate: 0.02, lateRate: 0.05 })
  const events = generated.filter((line) => line.kind === 'event')

  test('all satisfy SPEC §2', () => {
    for (const line of events) {
      const result = parseEvent(lineText(line))
      if (!result.ok) throw new Error(`${lineText(line)}: ${result.rejection.message}`)
    }
  })

  test('are serialised exactly as JSON.stringify would', () => {
    for (const line of events) expect(lineText(line)).toBe(JSON.stringify(line.record))
  })

  test('use every event type, timestamp form and optional field', () => {
    const types = new Set(events.map((line) => line.record.event_type))
    expect([...types].sort()).toEqual([
      'adjustment',
      'purchase_order',
      'restock',
      'return',
      'sale',
      'stock_count',
    ])
    const forms = new Set(
      events.map(({ record }) =>
        typeof record.timestamp === 'number' ? 'epoch' : record.timestamp.slice(19),
      ),
    )
    expect([...forms].sort()).toEqual(['+02:00', '-05:00', 'Z', 'epoch'])
    expect(events.some((line) => line.record.on_hand !== undefined)).toBe(true)
    expect(events.some((line) => line.record.lead_time_days !== undefined)).toBe(true)
    expect(events.some((line) => line.record.order_id !== undefined)).toBe(true)
    expect(events.some((line) => line.record.expected_at !== undefined)).toBe(true)
    expect(events.some((line) => line.record.event_type === 'adjustment' && line.record.quantity < 0)).toBe(
      true,
    )
  })

  test('have unique ids apart from deliberate duplicates', () => {
    const originals = events.filter((line) => !line.duplicate).map((line) => line.record.event_id)
    expect(new Set(originals).size).toBe(originals.length)
  })

  test('duplicates repeat an earlier line of the same item, byte for byte, shortly after', () => {
    const earlier = new Map<string, { text: string; position: number }>()
    let duplicates = 0
    generated.forEach((line, position) => {
      if (line.kind !== 'event') return
      const key = `${itemKey(line.record.sku, line.record.warehouse_id)} ${line.record.event_id}`
      const original = earlier.get(key)
      if (line.duplicate) {
        duplicates++
        expect(original?.text).toBe(lineText(line))
        expect(position - (original?.position ?? 0)).toBeLessThanOrEqual(60)
      } else {
        expect(original).toBeUndefined()
        earlier.set(key, { text: lineText(line), position })
      }
    })
    expect(duplicates).toBeGreaterThan(200)
  })

  test('late events arrive after later-timed ones; the rest are in time order', () => {
    let latest = 0
    let outOfOrder = 0
    for (const line of events) {
      if (line.ms < latest) {
        outOfOrder++
        expect(line.late || line.duplicate).toBe(true)
      }
      if (!line.late && !line.duplicate) latest = Math.max(latest, line.ms)
    }
    expect(outOfOrder).toBeGreaterThan(500)
  })
})

const DAY_MS = 86_400_000
/** SPEC §8's default LEAD_TIME_DAYS: the lead time of an item before an event tells it. */
const DEFAULT_LEAD_TIME_DAYS = 7

function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS)
}

/** The events of a generated stream as the core parses them; every one must be accepted. */
function parsedEvents(generated: GeneratedLine[]): InventoryEvent[] {
  const events: InventoryEvent[] = []
  for (const line of generated) {
    if (line.kind !== 'event') continue
    const result = parseEvent(lineText(line))
    if (!result.ok) throw new Error(`${lineText(line)}: ${result.rejection.message}`)
    events.push(result.event)
  }
  return events
}

/** What the stream says about one order_id. */
interface Order {
  item: string
  /** The quantity of each purchase_order of the id, in stream order (0 cancels). */
  ordered: number[]
  /** The UTC day of the first purchase_order's expected_at, null when it left it out. */
  expectedDay: number | null
  /** The restocks that name the order. */
  receipts: { quantity: number; day: number }[]
  /** The event type that first mentioned the id. */
  firstType: string
}

function ordersOf(events: InventoryEvent[]): Map<string, Order> {
  const orders = new Map<string, Order>()
  for (const event of events) {
    if (event.orderId === null) continue
    const item = itemKey(event.sku, event.warehouseId)
    let order = orders.get(event.orderId)
    if (order === undefined) {
      order = { item, ordered: [], expectedDay: null, receipts: [], firstType: event.type }
      orders.set(event.orderId, order)
    }
    if (order.item !== item) throw new Error(`order ${event.orderId} is used by ${order.item} and ${item}`)
    if (event.type === 'purchase_order') {
      if (order.ordered.length === 0 && event.expectedAt !== null)
        order.expectedDay = utcDay(event.expectedAt)
      order.ordered.push(event.quantity)
    } else {
      order.receipts.push({ quantity: event.quantity, day: utcDay(event.ts) })
    }
  }
  return orders
}

function itemsWith(events: InventoryEvent[], type: string): Set<string> {
  return new Set(events.filter((e) => e.type === type).map((e) => itemKey(e.sku, e.warehouseId)))
}

function share(part: number, whole: number): number {
  return whole === 0 ? Number.NaN : part / whole
}

/** One item's daily history (SPEC §3), by UTC day: the close of the day and whether it stocked out. */
interface ItemDays {
  firstDay: number
  close: Map<number, { onHand: number | null; leadTime: number; stockout: boolean }>
}

/**
 * The base rate `invpipe backtest` scores risk against, computed from the events alone: of the
 * item-days that closed with stock on hand (known, > 0), the share with a stockout day in the next
 * ⌈lead time⌉ days. on_hand follows SPEC §3 (unknown until a stock_count or an on_hand; sale
 * subtracts, return, restock and adjustment add; purchase orders change nothing); a day is a
 * stockout day when on_hand was ≤ 0 after one of its events, or, without events, when the close
 * carried forward is ≤ 0. Only item-days whose horizon ends within the stream count. Needs a
 * stream without duplicates or late events, so that arrival order is time order.
 */
function stockoutShare(events: InventoryEvent[]): { share: number; itemDays: number } {
  const items = new Map<string, ItemDays>()
  const state = new Map<string, { onHand: number | null; leadTime: number }>()
  let lastDay = Number.NEGATIVE_INFINITY
  for (const event of events) {
    const key = itemKey(event.sku, event.warehouseId)
    const day = utcDay(event.ts)
    lastDay = Math.max(lastDay, day)
    const item = items.get(key) ?? { firstDay: day, close: new Map() }
    items.set(key, item)
    const now = state.get(key) ?? { onHand: null, leadTime: DEFAULT_LEAD_TIME_DAYS }
    state.set(key, now)
    if (event.type === 'stock_count') now.onHand = event.quantity
    else if (now.onHand !== null && event.type === 'sale') now.onHand -= event.quantity
    else if (now.onHand !== null && event.type !== 'purchase_order') now.onHand += event.quantity
    if (event.onHand !== null) now.onHand = event.onHand
    if (event.leadTimeDays !== null) now.leadTime = event.leadTimeDays
    const stockout = (item.close.get(day)?.stockout ?? false) || (now.onHand !== null && now.onHand <= 0)
    item.close.set(day, { onHand: now.onHand, leadTime: now.leadTime, stockout })
  }
  let itemDays = 0
  let followed = 0
  for (const item of items.values()) {
    const closes: { onHand: number | null; leadTime: number; stockout: boolean }[] = []
    let carried = { onHand: null as number | null, leadTime: DEFAULT_LEAD_TIME_DAYS, stockout: false }
    for (let day = item.firstDay; day <= lastDay; day++) {
      const close = item.close.get(day)
      carried = close ?? { ...carried, stockout: carried.onHand !== null && carried.onHand <= 0 }
      closes.push(carried)
    }
    closes.forEach((close, t) => {
      const horizon = Math.ceil(close.leadTime)
      if (close.onHand === null || close.onHand <= 0 || t + horizon >= closes.length) return
      itemDays++
      if (closes.slice(t + 1, t + horizon + 1).some((later) => later.stockout)) followed++
    })
  }
  return { share: followed / itemDays, itemDays }
}

describe('replenishment', () => {
  // Dense enough for fast items, wide enough for slow ones; no duplicates or late lines, so that the
  // stream's order is the items' time order.
  const seed = 5
  const events = parsedEvents(lines({ events: 100_000, seed, duplicateRate: 0, lateRate: 0 }))
  const orders = ordersOf(events)
  const live = [...orders.values()].filter((order) => order.ordered.at(-1) !== 0)

  test('most items announce their orders with purchase orders; the others never do', () => {
    const restocked = itemsWith(events, 'restock')
    const announcing = itemsWith(events, 'purchase_order')
    const silent = [...restocked].filter((item) => !announcing.has(item))
    expect(share(restocked.size - silent.length, restocked.size)).toBeGreaterThan(0.55)
    expect(share(silent.length, restocked.size)).toBeGreaterThan(0.05)
    for (const event of events) {
      if (silent.includes(itemKey(event.sku, event.warehouseId))) expect(event.orderId).toBeNull()
    }
  })

  test('each order id is PO-<seed>-<n>, belongs to one item and starts with its purchase_order', () => {
    expect(orders.size).toBeGreaterThan(200)
    for (const [id, order] of orders) {
      expect(id).toMatch(new RegExp(`^PO-${seed}-\\d+$`))
      expect(order.firstType).toBe('purchase_order')
      expect(order.ordered[0]).toBeGreaterThan(0)
    }
  })

  test('most receipts of announcing items name their order', () => {
    const announcing = itemsWith(events, 'purchase_order')
    const receipts = events.filter(
      (e) => e.type === 'restock' && announcing.has(itemKey(e.sku, e.warehouseId)),
    )
    const named = receipts.filter((e) => e.orderId !== null).length
    expect(share(named, receipts.length)).toBeGreaterThan(0.8)
    expect(share(named, receipts.length)).toBeLessThan(0.97)
  })

  test('most orders say when they are expected: whole days after the order', () => {
    const placed = events.filter((e) => e.type === 'purchase_order' && e.quantity > 0)
    const withExpected = placed.filter((e) => e.expectedAt !== null)
    expect(share(withExpected.length, placed.length)).toBeGreaterThan(0.6)
    expect(share(withExpected.length, placed.length)).toBeLessThan(0.95)
    for (const order of withExpected) {
      const days = ((order.expectedAt as number) - order.ts) / DAY_MS
      expect(Number.isInteger(days) && days >= 1 && days <= 60).toBe(true)
    }
  })

  test('most orders arrive whole: received = ordered', () => {
    const received = live.filter((order) => order.receipts.length > 0)
    const whole = received.filter(
      (order) => order.receipts.reduce((sum, r) => sum + r.quantity, 0) === order.ordered.at(-1),
    )
    expect(share(whole.length, received.length)).toBeGreaterThan(0.8)
  })

  test('a few orders are cancelled: a second purchase_order of 0 units, then no delivery', () => {
    const cancelled = [...orders.values()].filter((order) => order.ordered.at(-1) === 0)
    expect(cancelled.length).toBeGreaterThan(0)
    expect(share(cancelled.length, orders.size)).toBeLessThan(0.1)
    for (const order of cancelled) {
      expect(order.ordered).toHaveLength(2)
      expect(order.receipts).toEqual([])
    }
  })

  test('about one delivery in ten is short (40–90 %); the rest comes later, or never', () => {
    const received = live.filter((order) => order.receipts.length > 0)
    const short = received.filter(
      (order) => (order.receipts[0]?.quantity ?? 0) < (order.ordered[0] as number),
    )
    expect(share(short.length, received.length)).toBeGreaterThan(0.04)
    expect(share(short.length, received.length)).toBeLessThan(0.2)
    const total = (order: Order) => order.receipts.reduce((sum, r) => sum + r.quantity, 0)
    const restLater = short.filter((order) => order.receipts.length > 1 && total(order) === order.ordered[0])
    const closedShort = short.filter(
      (order) => order.ordered.length === 2 && order.ordered[1] === total(order),
    )
    const leftOpen = short.filter((order) => total(order) < (order.ordered.at(-1) as number))
    expect(restLater.length).toBeGreaterThan(0)
    expect(closedShort.length).toBeGreaterThan(0)
    expect(leftOpen.length).toBeGreaterThan(0)
    for (const order of restLater)
      expect(order.receipts[1]?.day).toBeGreaterThan(order.receipts[0]?.day as number)
    // Where the short delivery is surely the first receipt (a receipt may leave its order_id out).
    for (const order of [...restLater, ...closedShort]) {
      const first = (order.receipts[0]?.quantity ?? 0) / (order.ordered[0] as number)
      // 40–90 %, rounded to whole units of orders of a few cases.
      expect(first).toBeGreaterThanOrEqual(0.3)
      expect(first).toBeLessThanOrEqual(0.95)
    }
  })

  test('deliveries mostly come on the expected day or a day off, sometimes days late, rarely weeks', () => {
    const offsets = live
      .filter((order) => order.expectedDay !== null && order.receipts.length > 0)
      .map((order) => (order.receipts[0]?.day as number) - (order.expectedDay as number))
    expect(offsets.length).toBeGreaterThan(150)
    expect(share(offsets.filter((d) => d === 0).length, offsets.length)).toBeGreaterThan(0.45)
    expect(share(offsets.filter((d) => Math.abs(d) <= 1).length, offsets.length)).toBeGreaterThan(0.7)
    expect(offsets.some((d) => d < 0)).toBe(true)
    expect(offsets.filter((d) => d >= 2).length).toBeGreaterThan(5)
    expect(Math.max(...offsets)).toBeGreaterThanOrEqual(6)
  })

  test('slow, intermittent items sell alongside fast ones', () => {
    const lastDay = utcDay(Math.max(...events.map((e) => e.ts)))
    const firstDay = new Map<string, number>()
    const salesByDay = new Map<string, Map<number, number>>()
    for (const event of events) {
      const key = itemKey(event.sku, event.warehouseId)
      if (!firstDay.has(key)) firstDay.set(key, utcDay(event.ts))
      if (event.type !== 'sale') continue
      const days = salesByDay.get(key) ?? new Map<number, number>()
      days.set(utcDay(event.ts), (days.get(utcDay(event.ts)) ?? 0) + event.quantity)
      salesByDay.set(key, days)
    }
    let slow = 0
    let fast = 0
    for (const [key, first] of firstDay) {
      const days = lastDay - first + 1
      const sales = salesByDay.get(key) ?? new Map<number, number>()
      const perDay = [...sales.values()].reduce((sum, units) => sum + units, 0) / days
      if (perDay < 1 && sales.size < days / 2) slow++
      if (perDay > 5) fast++
    }
    expect(share(slow, firstDay.size)).toBeGreaterThan(0.1)
    expect(share(fast, firstDay.size)).toBeGreaterThan(0.1)
  })

  test('some items are new listings: they start selling mid-history', () => {
    const start = utcDay(events[0]?.ts as number)
    const firstDay = new Map<string, number>()
    const units = new Map<string, number>()
    for (const event of events) {
      const key = itemKey(event.sku, event.warehouseId)
      if (!firstDay.has(key)) firstDay.set(key, utcDay(event.ts))
      if (event.type === 'sale') units.set(key, (units.get(key) ?? 0) + event.quantity)
    }
    const lastDay = utcDay(Math.max(...events.map((e) => e.ts)))
    // Late first events of slow movers are chance; a new listing then sells briskly.
    const listedLate = [...firstDay].filter(
      ([key, first]) => first >= start + 10 && (units.get(key) ?? 0) / (lastDay - first + 1) >= 1,
    )
    expect(listedLate.length).toBeGreaterThan(0)
  })

  test('5–20 % of in-stock item-days are followed by a stockout within the lead time', () => {
    for (const stream of [
      events,
      parsedEvents(lines({ events: 20_000, seed: 11, duplicateRate: 0, lateRate: 0 })),
    ]) {
      const { share: stockouts, itemDays } = stockoutShare(stream)
      expect(itemDays).toBeGreaterThan(5000)
      expect(stockouts).toBeGreaterThan(0.05)
      expect(stockouts).toBeLessThan(0.2)
    }
  })
})

test('every item of a 10-item generation starts with a stock count', () => {
  const generated = lines({ events: 2000, skus: 5, warehouses: 2, lateRate: 0, duplicateRate: 0 })
  const firstType = new Map<string, string>()
  for (const line of generated) {
    if (line.kind !== 'event') continue
    const key = itemKey(line.record.sku, line.record.warehouse_id)
    if (!firstType.has(key)) firstType.set(key, line.record.event_type)
  }
  expect(firstType.size).toBe(10)
  expect(new Set(firstType.values())).toEqual(new Set(['stock_count']))
})

test('a Parquet file holds the same rows, with typed columns', async () => {
  const path = join(dir, 'events.parquet')
  const options = optionsWith({ events: 3000, malformedRate: 0.05 })
  expect(await writeParquet(generateEvents(options), path)).toBe(3000)
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<
    string,
    unknown
  >[]
  const generated = Array.from(generateEvents(options))
  expect(rows.length).toBe(3000)
  expect(Object.keys(rows[0] as object)).toEqual([
    'event_id',
    'event_type',
    'sku',
    'warehouse_id',
    'quantity',
    'timestamp',
    'on_hand',
    'lead_time_days',
    'order_id',
    'expected_at',
  ])
  rows.forEach((row, index) => {
    const line = generated[index] as GeneratedLine
    // Epoch milliseconds keep their original form, as a decimal string.
    const timestamp = /^\d+$/.test(String(row.timestamp)) ? Number(row.timestamp) : row.timestamp
    expect(validateEvent({ ...row, timestamp }).ok).toBe(line.kind === 'event')
    if (line.kind === 'event') expect(row.event_id).toBe(line.record.event_id)
  })
})

describe('the command', () => {
  async function run(args: string[]): Promise<string> {
    const stderr = spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await runCommand(generateCommand, { rawArgs: args })
      return stderr.mock.calls.map((call) => String(call[0])).join('')
    } finally {
      stderr.mockRestore()
    }
  }

  test('writes exactly --events lines and a one-line summary', async () => {
    const path = join(dir, 'events.jsonl')
    const summary = await run(['--events', '321', '--seed', '3', '--output', path])
    expect(readFileSync(path, 'utf8').split('\n').length - 1).toBe(321)
    expect(summary).toMatch(/^generate: 321 events, 200 items, .*events\.jsonl \(jsonl\), [\d.]+ s\n$/)
  })

  for (const [args, message] of [
    [['--events', 'many'], '--events must be a whole number, got "many"'],
    [['--skus', '0'], '--skus must be a positive integer, got 0'],
    [['--malformed-rate', '1.5'], '--malformed-rate must be a number from 0 to 1, got "1.5"'],
    [['--start', '2026-02-30'], '--start must be a calendar date YYYY-MM-DD, got "2026-02-30"'],
    [['--start', '1999-12-01'], '--start with --days 90 must keep the events within the years 2000 to 2099'],
    [
      ['--output', 'events.csv'],
      '--output must be - or a file ending in .jsonl or .parquet, got "events.csv"',
    ],
    [['--topic', 't', '--output', 'e.jsonl'], '--output and --topic exclude each other'],
    [
      ['--topic', 'bad topic'],
      '--topic must be a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -), got "bad topic"',
    ],
    [['--topic', 't', '--kafka-security-protocol', 'TLS'], 'KAFKA_SECURITY_PROTOCOL'],
  ] as const) {
    test(`rejects ${args.join(' ')} with a one-line error naming the option`, async () => {
      const attempt = run([...args])
      await expect(attempt).rejects.toThrow(message)
    })
  }
})

describe('to Kafka (the local Apache Kafka broker)', () => {
  test('--topic produces every line, in order per item, keyed {sku}:{warehouse_id}', async () => {
    const topic = `generated-${Date.now().toString(36)}`
    const options = ['--events', '3000', '--skus', '20', '--warehouses', '3', '--seed', '11']
    const noise = ['--malformed-rate', '0.05', '--duplicate-rate', '0.03', '--late-rate', '0.03']
    const run = Bun.spawnSync(
      ['bun', join(ROOT, 'src/main.ts'), 'generate', ...options, ...noise, '--topic', topic],
      {
        env: { PATH: process.env.PATH ?? '', KAFKA_BOOTSTRAP_SERVERS: BOOTSTRAP },
      },
    )
    // kafkajs' timers make Bun print a TimeoutNegativeWarning (three lines) that is not ours.
    const stderr = run.stderr.toString().replace(/^\(node:\d+\) TimeoutNegativeWarning.*\n.*\n.*\n/, '')
    expect(stderr).toMatch(
      new RegExp(`^generate: 3000 events, 60 items, Kafka topic ${topic} at ${BOOTSTRAP}, [\\d.]+ s\n$`),
    )
    expect(run.exitCode).toBe(0)
    const expected = lines({
      events: 3000,
      skus: 20,
      warehouses: 3,
      seed: 11,
      malformedRate: 0.05,
      duplicateRate: 0.03,
      lateRate: 0.03,
    })
    const messages = await readTopic(topic)
    expect(messages).toHaveLength(3000)
    expect(new Set(messages.map((m) => m.partition)).size).toBe(3)
    // The generated order, restricted to one key, is the order on the topic (one partition per key).
    const byKey = (list: { key: string | null; value: string | null }[]) => {
      const groups = new Map<string, string[]>()
      for (const { key, value } of list) {
        const group = groups.get(String(key)) ?? []
        group.push(String(value))
        groups.set(String(key), group)
      }
      return groups
    }
    const produced = byKey(messages)
    const wanted = byKey(expected.map((line) => ({ key: messageKey(line), value: lineText(line) })))
    expect([...produced.keys()].sort()).toEqual([...wanted.keys()].sort())
    for (const [key, values] of wanted) {
      if (key === 'null') expect([...(produced.get(key) ?? [])].sort()).toEqual([...values].sort())
      else expect(produced.get(key)).toEqual(values)
    }
    for (const { key, value } of messages) {
      const parsed = parseEvent(String(value))
      if (parsed.ok) expect(key).toBe(itemKey(parsed.event.sku, parsed.event.warehouseId))
    }
    expect(wanted.get('null')?.length ?? 0).toBeGreaterThan(0)
  }, 60_000)
})

describe('small runs stay inside their window', () => {
  test('a few events over many items and few days: every timestamp within --start … --start + --days', () => {
    // Before the fix, 5 events over 200 items drew too little demand in 1–10 days and ran past them
    // (seed 3 with --days 1: 4 of 4 events on the second day).
    for (const [events, days, skus] of [
      [5, 1, 50],
      [5, 10, 50],
      [3, 1, 1],
      [200, 3, 50],
    ] as const)
      for (const seed of [1, 2, 3, 4, 5]) {
        const options = { ...DEFAULT_GENERATE_OPTIONS, events, days, skus, seed, start: '2026-01-01' }
        const lines = [...generateEvents(options)]
        expect(lines.length).toBe(events)
        const end = Date.UTC(2026, 0, 1 + days)
        for (const line of lines)
          if (line.kind === 'event') {
            expect(line.ms).toBeGreaterThanOrEqual(Date.UTC(2026, 0, 1))
            expect(line.ms).toBeLessThan(end)
          }
      }
  })
})
