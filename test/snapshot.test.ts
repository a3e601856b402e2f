import { describe, expect, test } from 'bun:test'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import type { InventoryEvent } from '../src/core/event.ts'
import { type ItemSnapshot, restoreState, snapshotOf } from '../src/core/snapshot.ts'
import { type ItemState, idHash } from '../src/core/state.ts'

const DAY = 86_400_000
const START = Date.UTC(2026, 2, 2)

function sale(eventId: string, ts: number): InventoryEvent {
  return {
    eventId,
    type: 'sale',
    sku: 'SKU-1',
    warehouseId: 'WH-1',
    quantity: 1,
    ts,
    onHand: null,
    leadTimeDays: null,
    orderId: null,
    expectedAt: null,
  }
}

/** Two different ids with the same 32-bit hash, found by the birthday bound (~80k tries). */
function collidingIds(): [string, string] {
  const seen = new Map<number, string>()
  for (let i = 0; ; i++) {
    const id = `evt-${i}`
    const other = seen.get(idHash(id))
    if (other !== undefined) return [other, id]
    seen.set(idHash(id), id)
  }
}

describe('item state snapshots and duplicates', () => {
  test('a snapshot holds (event_id, timestamp) pairs, as states stored by earlier versions do', () => {
    const engine = new Engine(DEFAULT_CORE_CONFIG)
    for (const [id, hours] of [
      ['a', 1],
      ['b', 2],
      ['c', 3],
    ] as const)
      engine.process(sale(id, START + hours * 3_600_000))
    const [state] = engine.flush(0).states
    const stored = JSON.parse(JSON.stringify(snapshotOf(state as ItemState))) as ItemSnapshot
    expect(stored.recentIds).toEqual([
      'a',
      START + 3_600_000,
      'b',
      START + 7_200_000,
      'c',
      START + 10_800_000,
    ])
  })

  test('a state restored from a stored snapshot still knows the events in its window', () => {
    // Written as an earlier version stored it: the window's ids with their timestamps.
    const stored: ItemSnapshot = {
      key: 'SKU-1:WH-1',
      onHand: 10,
      firstDay: START / DAY,
      latestTs: START + 5 * 3_600_000,
      eventCount: 2,
      leadTimeOverride: null,
      sales: [START / DAY, 2],
      recentIds: ['x-1', START + 4 * 3_600_000, 'x-2', START + 5 * 3_600_000],
    }
    const engine = new Engine(DEFAULT_CORE_CONFIG)
    engine.restore([restoreState(stored)])
    expect(engine.process(sale('x-1', START + 6 * 3_600_000))).toBe('duplicate')
    expect(engine.process(sale('x-2', START + 7 * 3_600_000))).toBe('duplicate')
    expect(engine.process(sale('x-3', START + 8 * 3_600_000))).toBe('applied')
    expect(engine.flush(0).rows[0]?.onHand).toBe(9)
  })

  test('two different ids with the same hash are two events', () => {
    const [first, second] = collidingIds()
    expect(idHash(first)).toBe(idHash(second))
    const engine = new Engine(DEFAULT_CORE_CONFIG)
    expect(engine.process(sale(first, START))).toBe('applied')
    expect(engine.process(sale(second, START + 1000))).toBe('applied')
    expect(engine.process(sale(first, START + 2000))).toBe('duplicate')
    expect(engine.flush(0).rows[0]?.eventCount).toBe(2)
  })
})

/** A snapshot of an item with 5 on hand and three events, as an earlier release stored it, with `fields`. */
function storedBefore(fields: Record<string, unknown>): ItemSnapshot {
  return {
    key: 'SKU-1:WH-1',
    onHand: 5,
    firstDay: 0,
    latestTs: START,
    eventCount: 3,
    leadTimeOverride: null,
    sales: null,
    recentIds: null,
    ...fields,
  } as ItemSnapshot
}

describe('the unplanned receipts in a snapshot', () => {
  test('kept with the days out before each; a snapshot stored before those were kept reads them as 0', () => {
    const state = restoreState(
      // As stored before: triples (day, units, level before; null unknown), no days out.
      storedBefore({ unplanned: [100, 30, 0, 104, 20, null] }),
    )
    expect(state.unplanned).toEqual([100, 30, 0, 0, 104, 20, Number.NaN, 0])
    state.unplanned = [100, 30, 0, 3, 104, 20, Number.NaN, 0]
    const stored: ItemSnapshot = JSON.parse(JSON.stringify(snapshotOf(state)))
    expect(stored.unplanned).toEqual([100, 30, 0, 104, 20, null])
    expect(stored.unplannedDaysOut).toEqual([3, 0])
    expect(restoreState(stored).unplanned).toEqual(state.unplanned)
  })
})

describe('the restock days in a snapshot', () => {
  test('kept with the units sold before each; a snapshot stored before those were kept reads them as unknown (−1)', () => {
    // As stored before: pairs (day, what the restock found).
    const stored = storedBefore({ restocks: [100, 0, 104, 2] })
    const state = restoreState(stored)
    expect(state.restocks).toEqual([100, 0, -1, 104, 2, -1])
    state.restocks = [100, 0, -1, 104, 2, 3]
    const again: ItemSnapshot = JSON.parse(JSON.stringify(snapshotOf(state)))
    expect(again.restockDays).toEqual([100, 0, -1, 104, 2, 3])
    expect(again.restocks).toBeUndefined()
    expect(restoreState(again).restocks).toEqual(state.restocks)
  })
})
