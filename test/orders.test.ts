// SPEC §2–§3 purchase orders and open orders, worked by hand: what is open, what a receipt nets
// against, when an order is forgotten, and that items without orders are untouched.
import { describe, expect, test } from 'bun:test'
import { parseEvent } from '../src/core/event.ts'
import { computeMetrics } from '../src/core/metrics.ts'
import { awaitedDay, FORGET_AFTER_DAYS, MAX_ORDERS, onOrder, openQuantity } from '../src/core/orders.ts'
import { assessRisk, stockoutRisk } from '../src/core/risk.ts'
import type { ItemState } from '../src/core/state.ts'
import { config, DAY, event, START, stateOf } from './support/item-events.ts'

const po = (id: string, units: number, day: number, expectedDay?: number) =>
  event('purchase_order', day, units, {
    orderId: id,
    expectedAt: expectedDay === undefined ? null : (START + expectedDay) * DAY,
  })
const receipt = (units: number, day: number, orderId: string | null = null) =>
  event('restock', day, units, { orderId })

const openOf = (state: ItemState) =>
  Object.fromEntries((state.orders ?? []).map((order) => [order.id, openQuantity(order)]))

describe('validation of the new fields', () => {
  const base = { event_id: 'e', sku: 'S', warehouse_id: 'W', timestamp: '2026-03-02T09:00:00Z' }
  const codeOf = (record: Record<string, unknown>) => {
    const result = parseEvent(JSON.stringify({ ...base, ...record }))
    return result.ok ? 'ok' : result.rejection.code
  }
  test('purchase_order needs an order_id, a quantity >= 0 and a readable expected_at', () => {
    expect(codeOf({ event_type: 'purchase_order', quantity: 5, order_id: 'P1' })).toBe('ok')
    expect(codeOf({ event_type: 'purchase_order', quantity: 0, order_id: 'P1' })).toBe('ok')
    expect(codeOf({ event_type: 'purchase_order', quantity: 5 })).toBe('invalid_order_id')
    expect(codeOf({ event_type: 'purchase_order', quantity: 5, order_id: '' })).toBe('invalid_order_id')
    expect(codeOf({ event_type: 'purchase_order', quantity: 5, order_id: 'x'.repeat(129) })).toBe(
      'invalid_order_id',
    )
    expect(codeOf({ event_type: 'purchase_order', quantity: -1, order_id: 'P1' })).toBe('invalid_quantity')
    expect(codeOf({ event_type: 'purchase_order', quantity: 1e12, order_id: 'P1' })).toBe('ok')
    expect(codeOf({ event_type: 'purchase_order', quantity: 5, order_id: 'P1', expected_at: 'soon' })).toBe(
      'invalid_expected_at',
    )
    expect(
      codeOf({
        event_type: 'purchase_order',
        quantity: 5,
        order_id: 'P1',
        expected_at: '2150-01-01T00:00:00Z',
      }),
    ).toBe('invalid_expected_at')
  })
  test('order_id is optional on a restock, checked when given, ignored on other types', () => {
    expect(codeOf({ event_type: 'restock', quantity: 5 })).toBe('ok')
    expect(codeOf({ event_type: 'restock', quantity: 5, order_id: 7 })).toBe('invalid_order_id')
    expect(codeOf({ event_type: 'sale', quantity: 5, order_id: 7, expected_at: 'soon' })).toBe('ok')
    const sale = parseEvent(JSON.stringify({ ...base, event_type: 'sale', quantity: 1, order_id: 'P1' }))
    expect(sale.ok && sale.event.orderId).toBe(null)
  })
})

describe('open orders (SPEC §3)', () => {
  test('an order is open until received; on_order and inventory_position follow', () => {
    const state = stateOf([event('stock_count', 0, 10), po('P1', 40, 0, 5), receipt(15, 4, 'P1')])
    expect(openOf(state)).toEqual({ P1: 25 })
    expect(onOrder(state.orders)).toBe(25)
    expect(state.onHand).toBe(25)
    const risk = assessRisk(state, config)
    expect(risk.onOrder).toBe(25)
    expect(risk.inventoryPosition).toBe(50)
  })

  test('a receipt that arrives before its order is remembered and nets against it', () => {
    const state = stateOf([event('stock_count', 0, 0), receipt(12, 1, 'P9'), po('P9', 30, 2, 6)])
    expect(openOf(state)).toEqual({ P9: 18 })
    expect(state.onHand).toBe(12)
  })

  test('a receipt without order_id goes to the earliest expected order (ties: the one seen first), the rest to the next', () => {
    const state = stateOf([
      event('stock_count', 0, 0),
      po('B', 10, 0, 6),
      po('C', 10, 0, 4),
      po('A', 10, 0, 4),
      receipt(5, 3),
    ])
    // C and A are both expected on day 4; C was seen first (not first by name): C takes all 5.
    expect(openOf(state)).toEqual({ B: 10, C: 5, A: 10 })
    // What one order cannot take goes to the next: 25 fill C, then A, then 5 of B.
    const more = stateOf([
      event('stock_count', 0, 0),
      po('B', 10, 0, 6),
      po('C', 10, 0, 4),
      po('A', 10, 0, 4),
      receipt(25, 3),
    ])
    expect(openOf(more)).toEqual({ B: 5, C: 0, A: 0 })
    expect(onOrder(more.orders)).toBe(5)
  })

  test('floating-point dust is not an open order: 0.1 + 0.2 received against 0.3 closes it', () => {
    const state = stateOf([
      event('stock_count', 0, 0),
      po('A', 0.3, 0, 4),
      po('B', 0.7, 0, 5),
      receipt(0.1, 2),
      receipt(0.2, 2),
    ])
    expect(openOf(state)).toEqual({ A: 0, B: 0.7 })
    // B took nothing: its first receipt is still to come, so no delivery of it is on record.
    expect(state.deliveries?.length).toBe(2)
    expect(state.deliveries?.[0]).toBe(-2)
    expect(state.deliveries?.[1]).toBeCloseTo(0.1 / 0.3, 12)
  })

  test('a later purchase_order of the same id changes it; quantity 0 cancels it', () => {
    const state = stateOf([
      event('stock_count', 0, 0),
      po('P1', 10, 0, 5),
      po('P1', 14, 1, 7),
      po('P2', 8, 1, 6),
    ])
    expect(openOf(state)).toEqual({ P1: 14, P2: 8 })
    expect(state.orders?.find((o) => o.id === 'P1')?.expectedDay).toBe(START + 7)
    const cancelled = stateOf([event('stock_count', 0, 0), po('P1', 10, 0, 5), po('P1', 0, 1)])
    expect(onOrder(cancelled.orders)).toBe(0)
  })

  test('expected_at defaults to the order time plus the item lead time', () => {
    const state = stateOf([event('stock_count', 0, 0, { leadTimeDays: 3 }), po('P1', 10, 2)])
    expect(state.orders?.[0]?.expectedDay).toBe(START + 5)
    const fallback = stateOf([po('P1', 10, 2)])
    expect(fallback.orders?.[0]?.expectedDay).toBe(START + 2 + config.leadTimeDays)
  })

  test('an order with nothing open is forgotten 90 days after its expected day; an open one stays', () => {
    const events = [
      event('stock_count', 0, 0),
      po('DONE', 5, 0, 2),
      receipt(5, 2, 'DONE'),
      po('OPEN', 5, 0, 2),
    ]
    const kept = stateOf([...events, event('sale', 2 + FORGET_AFTER_DAYS, 1)])
    expect(Object.keys(openOf(kept)).sort()).toEqual(['DONE', 'OPEN'])
    const forgotten = stateOf([...events, event('sale', 3 + FORGET_AFTER_DAYS, 1)])
    expect(openOf(forgotten)).toEqual({ OPEN: 5 })
  })

  test('memory is bounded: at most MAX_ORDERS orders an item, the earliest expected dropped first', () => {
    // The first MAX_ORDERS orders expected ever earlier (P0 on day 100, P1 on 99 …), five more
    // expected last: each of the five pushes out the earliest expected then, P63 … P59, which are
    // neither the oldest orders (P0 … P4) nor the newest (P64 … P68).
    const events = [event('stock_count', 0, 0)]
    for (let i = 0; i < MAX_ORDERS; i++) events.push(po(`P${i}`, 1, 0, 100 - i))
    for (let i = MAX_ORDERS; i < MAX_ORDERS + 5; i++) events.push(po(`P${i}`, 1, 0, 200 + i))
    const state = stateOf(events)
    expect(state.orders?.length).toBe(MAX_ORDERS)
    const kept = new Set(state.orders?.map((o) => o.id))
    for (let i = 0; i < MAX_ORDERS + 5; i++)
      expect([`P${i}`, kept.has(`P${i}`)]).toEqual([`P${i}`, i < MAX_ORDERS - 5 || i >= MAX_ORDERS])
  })

  test('an absurd order is data and overflows nothing', () => {
    const state = stateOf([event('stock_count', 0, 10), event('sale', 0, 2), po('BIG', 1e12, 0, 3)])
    const risk = assessRisk(state, config)
    expect(risk.onOrder).toBe(1e12)
    expect(risk.inventoryPosition).toBe(1e12 + 8)
    expect(Number.isFinite(risk.stockoutRisk as number)).toBe(true)
    expect(risk.reorderQuantity).toBe(0)
  })

  test('an item that never sees a purchase order: its stock and demand figures as before orders existed, nothing on order', () => {
    const plain = [
      event('stock_count', 0, 50),
      event('sale', 0, 3),
      receipt(20, 1),
      event('sale', 2, 4),
      event('return', 2, 1),
      event('adjustment', 3, -2),
    ]
    const state = stateOf(plain)
    expect(state.onHand).toBe(50 - 3 + 20 - 4 + 1 - 2)
    expect(state.orders).toBeNull()
    // 3 + 4 sold over days 0 … 3 (the return is not a negative sale).
    const metrics = computeMetrics(state)
    expect(metrics.daysOfHistory).toBe(4)
    expect(metrics.velocity7d).toBeCloseTo(7 / 4, 12)
    expect(metrics.velocity30d).toBeCloseTo(7 / 4, 12)
    expect(assessRisk(state, config).onOrder).toBe(0)
  })
})

describe('the records of deliveries and reorders learn only from receipts that can be told apart', () => {
  test('a receipt naming no order, taken by an order overdue by more than its own lead time, is not entered', () => {
    const state = stateOf([
      event('stock_count', 0, 50),
      po('OLD', 10, 1, 2), // lead 1 day (placed day 1, expected day 2); it never comes
      po('NEW', 10, 9, 10), // placed day 9, expected day 10
      // Day 10, no order named: SPEC §3 nets it against OLD (the earliest expected), 8 days overdue,
      // more than its 1-day lead: likelier NEW's goods, so neither record learns an 8-day lateness.
      receipt(10, 10),
      receipt(10, 11, 'NEW'), // named: 1 day late against day 10, in full; 2 days from its placing
    ])
    expect(openOf(state)).toEqual({ OLD: 0, NEW: 0 })
    expect(state.deliveries).toEqual([1, 1])
    expect(state.reorders).toEqual([50 + 10, 2, 10])
  })

  test('one naming no order, taken by an order within its lead of its day, is entered as before', () => {
    const state = stateOf([
      event('stock_count', 0, 50),
      po('P1', 10, 1, 5), // lead 4 days
      receipt(10, 8), // 3 days late (not more than 4): entered
    ])
    expect(state.deliveries).toEqual([3, 1])
    expect(state.reorders).toEqual([50, 7, 10])
  })
})

describe("undated orders: awaited by the item's own lead (risk, not SPEC §3's expected day)", () => {
  test("an order dated by LEAD_TIME_DAYS alone is undated; expected_at or the item's lead_time_days date it", () => {
    const undatedOf = (events: ReturnType<typeof event>[]) => stateOf(events).orders?.[0]?.undated
    expect(undatedOf([event('stock_count', 0, 10), po('P1', 10, 1)])).toBe(true)
    expect(undatedOf([event('stock_count', 0, 10), po('P1', 10, 1, 3)])).toBe(false)
    expect(undatedOf([event('stock_count', 0, 10, { leadTimeDays: 3 }), po('P1', 10, 1)])).toBe(false)
    // The latest purchase_order of the id decides, as it decides the expected day.
    expect(undatedOf([event('stock_count', 0, 10), po('P1', 10, 1), po('P1', 10, 2, 4)])).toBe(false)
  })

  test('awaited at the placing day + the lower median of the days to first receipt, never later than expected; lateness noted against it', () => {
    const state = stateOf([
      event('stock_count', 0, 20),
      po('P1', 10, 1), // default expected day 8
      receipt(10, 2, 'P1'), // no record yet: 6 days early against day 8; 1 day to first receipt
      po('P2', 10, 3), // expected day 10; awaited 3 + 1 = 4
      receipt(10, 5, 'P2'), // 1 day late against day 4; 2 days to first receipt
      po('P3', 10, 6), // leads 1 and 2: lower median 1, awaited 7 (expected 13)
      po('P4', 10, 6, 9), // dated: awaited on its expected day
    ])
    expect(state.deliveries).toEqual([-6, 1, 1, 1])
    expect(state.reorders?.filter((_, i) => i % 3 === 1)).toEqual([1, 2])
    const [p3, p4] = [state.orders?.[2], state.orders?.[3]]
    expect(p3?.expectedDay).toBe(START + 13)
    expect(awaitedDay(p3 as NonNullable<typeof p3>, state.reorders)).toBe(START + 7)
    expect(awaitedDay(p4 as NonNullable<typeof p4>, state.reorders)).toBe(START + 9)
    // A usual lead longer than the default leaves the expected day: later is the record's to say.
    const slow = stateOf([
      event('stock_count', 0, 20),
      po('P1', 10, 1),
      receipt(10, 12, 'P1'),
      po('P2', 10, 13),
    ])
    const p2 = slow.orders?.[1] as NonNullable<typeof p3>
    expect(awaitedDay(p2, slow.reorders)).toBe(p2.expectedDay)
  })

  test("the risk of an undated order is that of the same order dated at its usual lead; SPEC §3's expected day is kept for the outputs", () => {
    // Orders every 4 days, each dated for the next morning and received then; 3 sold a day.
    const history = [event('stock_count', 0, 30)]
    for (let day = 0; day <= 18; day++) history.push(event('sale', day, 3))
    for (const [i, day] of [2, 6, 10, 14].entries()) {
      history.push(po(`P${i}`, 10, day, day + 1))
      history.push(receipt(10, day + 1, `P${i}`))
    }
    history.sort((a, b) => a.ts - b.ts)
    const withLast = (last: ReturnType<typeof event>) => stateOf([...history, last])
    const undated = withLast(po('P9', 20, 18))
    const nextDay = withLast(po('P9', 20, 18, 19))
    const aWeek = withLast(po('P9', 20, 18, 25))
    expect(undated.orders?.at(-1)?.expectedDay).toBe(START + 18 + config.leadTimeDays)
    expect(stockoutRisk(undated, config)).toBeCloseTo(stockoutRisk(nextDay, config) as number, 12)
    expect(stockoutRisk(undated, config) as number).toBeLessThan(
      (stockoutRisk(aWeek, config) as number) - 0.2,
    )
    expect(assessRisk(undated, config).expectedStockoutDate).toBe(
      assessRisk(aWeek, config).expectedStockoutDate,
    )
  })
})
