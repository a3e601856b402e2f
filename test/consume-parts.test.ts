// The parts of `consume` that need no broker: where a fetch is taken from, how batches gather into
// a commit, when the group has read the topic to its end, how failures are told apart, and the
// packed rows of the Parquet outbox.
import { describe, expect, test } from 'bun:test'
import type { KafkaMessage } from 'kafkajs'
import { KafkaJSError } from 'kafkajs'
import { ConfigError, loadSettings } from '../src/config.ts'
import { Doubts } from '../src/consume/doubts.ts'
import { consumedToEnd } from '../src/consume/drain.ts'
import { failedSink, isPermanent, retryIfSessionLost, withTimeout } from '../src/consume/failures.ts'
import { PartitionWork } from '../src/consume/partition.ts'
import { PendingCommit } from '../src/consume/pending-commit.ts'
import { batchesOf, planFetch } from '../src/consume/positions.ts'
import { DEFAULT_CORE_CONFIG as core } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { ItemDays } from '../src/core/item-days.ts'
import type { MetricsRow } from '../src/core/rows.ts'
import { Tally } from '../src/core/tally.ts'
import { partsOfAtMost } from '../src/sinks/kafka.ts'
import { packRows, unpackColumns } from '../src/sinks/metrics-pack.ts'
import { type ColumnGroup, columnGroupOf } from '../src/sinks/parquet.ts'
import { analyze } from './support/analyze.ts'
import { generatedLines } from './support/events.ts'

const messages = (...offsets: number[]) =>
  offsets.map((offset) => ({ offset: String(offset) }) as KafkaMessage)

describe('where a fetch is taken from', () => {
  test('a fetch at the engine’s position is processed from there, what lies before it skipped', () => {
    expect(planFetch(5, messages(3, 4, 5, 6), 3)).toEqual({ action: 'process', messages: messages(5, 6) })
    expect(planFetch(null, messages(0, 1), 0)).toEqual({ action: 'process', messages: messages(0, 1) })
  })

  test('a fetch ahead of the engine, or wholly behind it, moves the consumer to the engine’s position', () => {
    expect(planFetch(5, messages(8, 9), 8)).toEqual({ action: 'seek', offset: 5 })
    expect(planFetch(5, messages(1, 2), 1)).toEqual({ action: 'seek', offset: 5 })
  })

  test('offsets absent from a fetch that starts at the position (markers, compaction) are no gap', () => {
    expect(planFetch(5, messages(7, 8), 5)).toEqual({ action: 'process', messages: messages(7, 8) })
    expect(planFetch(null, [], 0)).toEqual({ action: 'skip' })
  })

  test('a fetch is cut into batches of BATCH_SIZE, the last shorter', () => {
    expect([...batchesOf([1, 2, 3, 4, 5], 2)]).toEqual([[1, 2], [3, 4], [5]])
    expect([...batchesOf([1, 2], 5000)]).toEqual([[1, 2]])
  })
})

describe('batches gathered into one commit', () => {
  const lines = generatedLines({ events: 600, skus: 5, warehouses: 2, days: 20, seed: 11 })
  const events = lines.map(parseEvent).flatMap((parsed) => (parsed.ok ? [parsed.event] : []))

  /** The commit of the events in batches of `size`, as a partition gathers them. */
  function gathered(size: number): PendingCommit {
    const engine = new Engine(core, { trackDaily: true })
    const pending = new PendingCommit(0, 0)
    let offset = 0
    for (const batch of batchesOf(events, size)) {
      for (const event of batch) engine.process(event)
      offset += batch.length
      pending.add(engine.flush(0), [], [], new Tally(), offset)
    }
    return pending
  }

  test('each item’s latest row, state and close once; every row of every batch for the archive', () => {
    const pending = gathered(7)
    const content = pending.content()
    const expected = analyze(lines)
    const byItem = (rows: readonly MetricsRow[]) =>
      rows.map((r) => `${r.sku}:${r.warehouseId}:${r.eventCount}`).sort()
    expect(byItem(content.rows)).toEqual(
      expected.final.map((r) => `${r.sku}:${r.warehouse_id}:${r.event_count}`).sort(),
    )
    expect(new Set(content.states.map((s) => s.key)).size).toBe(content.states.length)
    expect(new Set(content.closes.map((c) => `${c.key}|${c.day}`)).size).toBe(content.closes.length)
    // Each item's rows in the archive: one per batch it changed in, its event counts increasing.
    expect(content.archive?.length).toBeGreaterThan(content.rows.length)
    expect(pending.nextOffset).toBe(events.length)
    expect(pending.batches).toBe(Math.ceil(events.length / 7))
  })

  test('the daily history of a commit adds up to what the batches would have stored one by one', () => {
    const daily = gathered(7).content().daily
    const expected = analyze(lines).daily
    expect(daily).toHaveLength(expected.length)
    const stored = new Map(expected.map((d) => [`${d.sku}:${d.warehouse_id}:${d.date}`, d]))
    for (const delta of daily) {
      const day = new Date(delta.day * 86_400_000).toISOString().slice(0, 10)
      const row = stored.get(`${delta.sku}:${delta.warehouseId}:${day}`)
      expect(delta.sold).toBeCloseTo(row?.sold as number, 9)
      expect(delta.closingOnHand).toBe(row?.closing_on_hand as number | null)
      expect(delta.stockout).toBe(row?.stockout as boolean)
    }
  })

  test('values by (item, day): a day set again replaces its value; items keep the order first set', () => {
    const days = new ItemDays<{ day: number; v: string }>()
    days.set('A:W', { day: 3, v: 'a3' })
    days.set('B:W', { day: 3, v: 'b3' })
    days.set('A:W', { day: 4, v: 'a4' })
    days.set('A:W', { day: 3, v: 'a3 again' })
    expect(days.get('A:W', 3)?.v).toBe('a3 again')
    expect(days.get('B:W', 4)).toBeUndefined()
    expect(days.get('C:W', 3)).toBeUndefined()
    expect(days.values().map((x) => x.v)).toEqual(['a3 again', 'a4', 'b3'])
  })
})

describe('a partition’s batches and commits take turns', () => {
  test('work queued on the lane runs in order, and a failure does not block what follows', async () => {
    const work = new PartitionWork(0, new Engine(core), 10)
    const order: string[] = []
    const first = work.run(async () => {
      await Bun.sleep(20)
      order.push('batch')
    })
    const failing = work.run(async () => {
      order.push('commit')
      throw new Error('PostgreSQL away')
    })
    const last = work.run(async () => {
      order.push('next batch')
    })
    await first
    await expect(failing).rejects.toThrow('PostgreSQL away')
    await last
    expect(order).toEqual(['batch', 'commit', 'next batch'])
  })

  test('a commit is due COMMIT_INTERVAL_MS after its first batch; the position follows the batches', () => {
    const work = new PartitionWork(0, new Engine(core), 10)
    expect(work.due(5_000, 1_000)).toBe(false)
    const pending = work.pendingFrom(10, 1_000)
    expect(pending.fromOffset).toBe(10)
    pending.add({ rows: [], daily: [], alerts: [], states: [], closes: [] }, [], [], new Tally(), 15)
    expect(work.position).toBe(15)
    expect(work.due(1_999, 1_000)).toBe(false)
    expect(work.dueIn(1_400, 1_000)).toBe(600)
    expect(work.due(2_000, 1_000)).toBe(true)
    expect(work.due(1_000, 0)).toBe(true)
  })

  test('a commit taken for its transaction expects the offset the one before moves to; the next batches start there', () => {
    const work = new PartitionWork(0, new Engine(core), null)
    const empty = { rows: [], daily: [], alerts: [], states: [], closes: [] }
    work.pendingFrom(3, 0).add(empty, [], [], new Tally(), 8)
    expect(work.takePending()).toMatchObject({
      expectedOffset: null,
      pending: { fromOffset: 3, nextOffset: 8 },
    })
    expect(work.takePending()).toBeNull()
    expect(work.position).toBe(8)
    work.pendingFrom(8, 0).add(empty, [], [], new Tally(), 12)
    expect(work.takePending()).toMatchObject({
      expectedOffset: 8,
      pending: { fromOffset: 8, nextOffset: 12 },
    })
    // Only a success moves what PostgreSQL is known to hold.
    expect(work.committed).toBeNull()
  })
})

describe('--drain: the topic consumed to its end', () => {
  test('every partition at its end, or empty and never committed', () => {
    const ends = [
      { partition: 0, low: '0', high: '10' },
      { partition: 1, low: '4', high: '4' },
    ]
    expect(consumedToEnd(ends, new Map([[0, 10]]))).toBe(true)
    expect(consumedToEnd(ends, new Map([[0, 9]]))).toBe(false)
    expect(consumedToEnd([{ partition: 2, low: '0', high: '3' }], new Map())).toBe(false)
  })
})

describe('failures', () => {
  test('data PostgreSQL refuses is permanent; a lost connection is not', () => {
    expect(isPermanent({ code: '22P02' })).toBe(true)
    expect(isPermanent({ code: '23505' })).toBe(true)
    expect(isPermanent({ code: 'ECONNREFUSED' })).toBe(false)
    expect(isPermanent(null)).toBe(false)
    expect(failedSink(new KafkaJSError('broker gone'))).toBe('kafka')
    expect(failedSink(new Error('connection closed'))).toBe('postgres')
  })

  test('work whose session was ended is tried again; a refused connection is not', async () => {
    const failing = (codes: string[]) => {
      let calls = 0
      const work = async () => {
        const code = codes[calls++]
        if (code !== undefined) throw Object.assign(new Error(code), { code })
        return calls
      }
      return { work, calls: () => calls }
    }
    const twice = failing(['57P01', 'CONNECTION_CLOSED'])
    expect(await retryIfSessionLost(twice.work, 3, 1)).toBe(3)
    // Ended while its socket was read or written (seen as "consume failed: read ECONNRESET" at start-up).
    const reset = failing(['ECONNRESET', 'EPIPE'])
    expect(await retryIfSessionLost(reset.work, 3, 1)).toBe(3)
    const refused = failing(['ECONNREFUSED'])
    await expect(retryIfSessionLost(refused.work, 3, 1)).rejects.toThrow('ECONNREFUSED')
    expect(refused.calls()).toBe(1)
    const always = failing(['57P01', '57P01', '57P01'])
    await expect(retryIfSessionLost(always.work, 3, 1)).rejects.toThrow('57P01')
    expect(always.calls()).toBe(3)
  })

  test('a call that does not answer in time fails with the message given', async () => {
    await expect(withTimeout(Bun.sleep(200), 10, 'no answer')).rejects.toThrow('no answer')
    expect(await withTimeout(Promise.resolve(3), 100, 'no answer')).toBe(3)
  })
})

describe('commits in doubt', () => {
  const doubt = (fromOffset: number, nextOffset: number) => {
    const pending = new PendingCommit(fromOffset, 0)
    pending.nextOffset = nextOffset
    return { pending, rows: [] }
  }

  test('the one ending at the stored offset was stored; one ending past it stays open until ruled out', () => {
    const doubts = new Doubts()
    const first = doubt(100, 200)
    const second = doubt(200, 300)
    doubts.record(0, first)
    doubts.record(0, second)
    expect(doubts.settle(0, null)).toBeNull() // the offset could not be read: nothing known yet
    expect(doubts.settle(0, 100)).toBeNull() // neither stored (yet)
    expect(doubts.settle(0, 200)).toBe(first)
    expect(doubts.partitions).toEqual([0]) // the second may still land
    expect(doubts.settle(0, 200)).toBeNull() // settled once
    doubts.ruledOut(0)
    expect(doubts.partitions).toEqual([])
  })

  test('past its end (another instance moved on) a doubt is dropped unsettled; a rebalance forgets all', () => {
    const doubts = new Doubts()
    doubts.record(1, doubt(100, 200))
    expect(doubts.settle(1, 250)).toBeNull()
    expect(doubts.partitions).toEqual([])
    doubts.record(1, doubt(100, 200))
    doubts.record(2, doubt(0, 50))
    doubts.forgetAll()
    expect(doubts.settle(1, 200)).toBeNull()
    expect(doubts.partitions).toEqual([])
  })
})

describe('alert sends below the broker’s message size', () => {
  test('parts keep the order, stay within the limit, and an item larger than it goes alone', () => {
    const sizes = [40, 30, 40, 100, 250, 10, 10, 90, 5]
    const parts = partsOfAtMost(sizes, 100, (size) => size)
    // Worked by hand: 40+30 (a third would make 110), 40, 100, 250 alone, 10+10, 90+5.
    expect(parts).toEqual([[40, 30], [40], [100], [250], [10, 10], [90, 5]])
    expect(partsOfAtMost([], 100, (size: number) => size)).toEqual([])
  })
})

describe('packed rows of the Parquet outbox', () => {
  test('pack then unpack gives the columns of the rows back exactly, nulls and fractions included', () => {
    const engine = new Engine(core, { trackDaily: false })
    for (const line of generatedLines({ events: 400, skus: 6, warehouses: 3, days: 30, seed: 5 })) {
      const parsed = parseEvent(line)
      if (parsed.ok) engine.process(parsed.event)
    }
    const rows = engine.flush(1_764_590_000_123).rows
    // An item whose stock is not known yet: every nullable field null.
    rows.push({
      ...(rows[0] as MetricsRow),
      sku: 'SKU-UNKNOWN',
      onHand: null,
      stockoutRisk: null,
      riskLevel: 'unknown',
      daysOfCover: null,
      reorderQuantity: null,
      inventoryPosition: null,
      expectedStockoutDate: null,
    })
    expect(rows.some((r) => !Number.isInteger(r.velocity30d))).toBe(true)
    // Unpacked as the Parquet writer's columns: those of the rows themselves (as plain arrays:
    // toEqual takes NaN, the writer's null, for unequal to itself in a Float64Array).
    const plain = (group: ColumnGroup) => group.columns.map((column) => [...column])
    const columns = plain(columnGroupOf(rows))
    expect(plain(unpackColumns(packRows(rows)))).toEqual(columns)
    // A value read back from a driver's buffer, not at the start of its memory.
    const packed = packRows(rows)
    const shifted = new Uint8Array(packed.length + 3)
    shifted.set(packed, 3)
    expect(plain(unpackColumns(shifted.subarray(3)))).toEqual(columns)
    expect(unpackColumns(packRows([])).rows).toBe(0)
    // Entries packed before the rows were compressed are read as they are.
    expect(plain(unpackColumns(Bun.zstdDecompressSync(packed)))).toEqual(columns)
  })
})

describe('COMMIT_INTERVAL_MS', () => {
  const load = (flags: Record<string, string>, env: Record<string, string>) =>
    loadSettings(['commitIntervalMs'], flags, env).commitIntervalMs

  test('1000 by default, from the environment, the flag winning; 0 commits after every batch', () => {
    expect(load({}, {})).toBe(1000)
    expect(load({}, { COMMIT_INTERVAL_MS: '250' })).toBe(250)
    expect(load({ 'commit-interval-ms': '0' }, { COMMIT_INTERVAL_MS: '250' })).toBe(0)
  })

  test('a bad value is one line naming the variable', () => {
    for (const bad of ['x', '-1', '1.5', '3600001', '']) {
      expect(() => load({}, { COMMIT_INTERVAL_MS: bad })).toThrow(ConfigError)
      expect(() => load({}, { COMMIT_INTERVAL_MS: bad })).toThrow(
        `invalid COMMIT_INTERVAL_MS=${JSON.stringify(bad)}: expected milliseconds from 0 to 3600000`,
      )
    }
    expect(() => load({ 'commit-interval-ms': 'soon' }, {})).toThrow('(from --commit-interval-ms)')
  })
})
