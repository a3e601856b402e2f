// SPEC §6 (version 2): alerts as episodes. The step function is checked on hand-made risk
// sequences; the engine on a stream whose risk rises with sales and falls with a receipt.
import { describe, expect, test } from 'bun:test'
import { type AlertStatus, alertRecord, nextEpisodeStep, riskReason } from '../src/core/alerts.ts'
import { DEFAULT_CORE_CONFIG, resolveConfig } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import type { EventType, InventoryEvent } from '../src/core/event.ts'
import type { RiskNotes } from '../src/core/risk.ts'
import type { Episode } from '../src/core/state.ts'

const config = resolveConfig(DEFAULT_CORE_CONFIG)

/** The statuses a sequence of (as-of day, risk) produces, from no open episode. */
function statuses(steps: [day: number, risk: number | null][], settings = config): (AlertStatus | null)[] {
  let episode: Episode | null = null
  return steps.map(([day, risk]) => {
    const step = nextEpisodeStep(episode, risk, day, settings)
    episode = step.episode
    return step.status
  })
}

const reasonDay = (date: string) => Date.parse(`${date}T00:00:00Z`) / 86_400_000

/** A risk assessment for the reason's tests: 3.1 a day, a 10-day lead time, 40 on order. */
const REASON_RISK = {
  leadTimeDays: 10,
  expectedDemandLeadTime: 31,
  safetyStock: 9,
  reorderPoint: 40,
  stockoutRisk: 0.93,
  riskLevel: 'critical' as const,
  daysOfCover: 3.9,
  reorderQuantity: 50,
  onOrder: 40,
  inventoryPosition: 52,
  expectedStockoutDate: reasonDay('2026-09-29'),
  demandRate: 3.1,
  returnedShare: 0,
}

/** Risk notes with nothing to say. */
const NO_NOTES = { unannounced: null, stalls: null, packs: null, shrink: null, reorders: null }
describe('episode steps', () => {
  test('raised at the threshold, quiet while it hovers, resolved below the resolve threshold', () => {
    expect(
      statuses([
        [1, 0.49],
        [1, 0.5],
        [1, 0.55],
        [2, 0.45],
        [2, 0.21],
        [3, 0.6],
        [3, 0.2], // not below the resolve threshold: still open
        [3, 0.19],
        [4, 0.3],
        [4, 0.52],
      ]),
    ).toEqual([null, 'raised', null, null, null, null, null, 'resolved', null, 'raised'])
  })

  test('escalated only when the level rises above the highest reported', () => {
    // high (raised) → critical (escalated) → high → critical again: already reported, no message.
    expect(
      statuses([
        [1, 0.6],
        [1, 0.85],
        [2, 0.6],
        [2, 0.9],
        [2, 0.99],
      ]),
    ).toEqual(['raised', 'escalated', null, null, null])
  })

  test('a reminder every ALERT_REPEAT_DAYS as-of days since the last message; 0 = never', () => {
    const steps: [number, number][] = [
      [10, 0.6],
      [16, 0.6],
      [17, 0.6],
      [18, 0.6],
      [24, 0.6],
    ]
    expect(statuses(steps)).toEqual(['raised', null, 'reminder', null, 'reminder'])
    expect(statuses(steps, { ...config, alertRepeatDays: 0 })).toEqual(['raised', null, null, null, null])
  })

  test('an escalation counts as the last message for the reminder clock', () => {
    expect(
      statuses([
        [10, 0.6],
        [15, 0.9],
        [17, 0.9],
        [22, 0.9],
      ]),
    ).toEqual(['raised', 'escalated', null, 'reminder'])
  })

  test('an episode re-raised on the day the last one opened continues its message numbers', () => {
    let episode: Episode | null = null
    const ids: string[] = []
    for (const [day, risk] of [
      [5, 0.7],
      [5, 0.1],
      [5, 0.6],
      [6, 0.1],
      [7, 0.6],
    ] as const) {
      const step = nextEpisodeStep(episode, risk, day, config)
      episode = step.episode
      if (step.status !== null && episode !== null)
        ids.push(`${step.status} ${episode.openedDay}:${episode.messages}`)
    }
    expect(ids).toEqual(['raised 5:1', 'resolved 5:2', 'raised 5:3', 'resolved 5:4', 'raised 7:1'])
  })

  test('an unknown risk neither opens nor moves an episode', () => {
    expect(
      statuses([
        [1, null],
        [1, 0.7],
        [2, null],
        [2, 0.1],
      ]),
    ).toEqual([null, 'raised', null, 'resolved'])
  })
})

describe('episodes through the engine', () => {
  let counter = 0
  const event = (type: EventType, day: number, quantity: number, extra: Partial<InventoryEvent> = {}) =>
    ({
      eventId: `a${counter++}`,
      type,
      sku: 'S',
      warehouseId: 'W',
      quantity,
      ts: Date.UTC(2026, 2, 2 + day, 12),
      onHand: null,
      leadTimeDays: null,
      orderId: null,
      expectedAt: null,
      ...extra,
    }) as InventoryEvent

  test('one episode while the item stays at risk: raised, escalated, reminders a week apart, resolved by a receipt', () => {
    const engine = new Engine(DEFAULT_CORE_CONFIG)
    // An item that announces its orders (one, cancelled), selling 5 a day from 400.
    engine.process(event('stock_count', 0, 400))
    engine.process(event('purchase_order', 0, 0, { orderId: 'OLD' }))
    for (let day = 0; day < 60; day++) engine.process(event('sale', day, 5))
    // Stock is now 100: 20 days of cover; it then sells on, at risk for two weeks, until a receipt.
    // Counted every morning and found as the books say: no stuck books scale its risk (stalls.ts).
    for (let day = 60; day < 90; day++) {
      engine.process(event('stock_count', day, 400 - 5 * day))
      engine.process(event('sale', day, 5))
    }
    engine.process(event('restock', 90, 500))
    const alerts = engine.flush(0).alerts
    // By hand: after day d's sale 400 − 5(d + 1) are left; the lead time's demand is about 35 with a
    // standard deviation of about 14 (φ·M·(1 + 7/n) + 0.02·7·35²), so the risk passes 1/2 on day 72 or
    // 73 (35 or 30 left) and 0.8 one or two days later (25 or 20 left); then a reminder every
    // ALERT_REPEAT_DAYS (7) after the message before, until the receipt of day 90.
    expect(alerts.map((alert) => alert.status)).toEqual([
      'raised',
      'escalated',
      'reminder',
      'reminder',
      'resolved',
    ])
    const dayOf = (i: number) => (alerts[i]?.asOfDay as number) - Date.UTC(2026, 2, 2) / 86_400_000
    expect([72, 73]).toContain(dayOf(0))
    expect([1, 2]).toContain(dayOf(1) - dayOf(0))
    expect(dayOf(2)).toBe(dayOf(1) + 7)
    expect(dayOf(3)).toBe(dayOf(2) + 7)
    expect(dayOf(4)).toBe(90)
    const id = alerts[0]?.alertId as string
    expect(id).toBe(`S:W:${new Date((alerts[0]?.asOfDay as number) * 86_400_000).toISOString().slice(0, 10)}`)
    alerts.forEach((alert, i) => {
      expect(alert.alertId).toBe(id)
      expect(alert.messageId).toBe(`${id}:${i + 1}`)
    })
    const record = alertRecord(alerts[0] as (typeof alerts)[number], 0)
    expect(record.reason).toContain('on hand')
    expect(record.reason).toContain('a day')
    expect(record.status).toBe('raised')
    expect(record.on_order).toBe(0)
  })

  test('the reason names the order that comes too late', () => {
    const risk = REASON_RISK
    const plain = NO_NOTES
    const late = [{ orderId: 'PO-77', openQuantity: 40, expectedDay: reasonDay('2026-10-03') }]
    expect(riskReason(12, risk, plain, late, 30)).toBe(
      '12 on hand, about 3.1 a day; order PO-77 (40) expected 2026-10-03, after the likely stockout on 2026-09-29',
    )
    const none = { ...risk, onOrder: 0, expectedStockoutDate: reasonDay('2026-09-29') }
    expect(riskReason(12, none, plain, [], 3)).toBe(
      '12 on hand, about 3.1 a day; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29; only 3 days of history',
    )
    const reordering = { ...plain, reorders: { orders: 3, level: 10, days: 2.5 } }
    expect(riskReason(12, none, reordering, [], 30)).toBe(
      '12 on hand, about 3.1 a day; nothing on order within the 10-day lead time; its last 3 orders were placed with about 10 on hand and on order and came 2.5 days later; likely out of stock on 2026-09-29',
    )
    const unannounced = {
      ...plain,
      unannounced: { ordersSeen: false, level: 2, receipts: 3, emptyShelf: { receipts: 2, daysOut: 3 } },
    }
    expect(riskReason(12, none, unannounced, [], 30)).toBe(
      '12 on hand, about 3.1 a day; no purchase orders seen: its last 3 restocks came with about 2 left, 2 of them after about 3 days out of stock; likely out of stock on 2026-09-29',
    )
    const specialOrderBefore = { ...plain, unannounced: { ...unannounced.unannounced, ordersSeen: true } }
    expect(riskReason(12, none, specialOrderBefore, [], 30)).toBe(
      '12 on hand, about 3.1 a day; restocked of late without purchase orders: its last 3 restocks came with about 2 left, 2 of them after about 3 days out of stock; likely out of stock on 2026-09-29',
    )
    const allEmpty = {
      ...plain,
      unannounced: { ordersSeen: false, level: 0.9, receipts: 1, emptyShelf: { receipts: 1, daysOut: 15 } },
    }
    expect(riskReason(12, none, allEmpty, [], 30)).toBe(
      '12 on hand, about 3.1 a day; no purchase orders seen: its last restock came after about 15 days out of stock; likely out of stock on 2026-09-29',
    )
    const stalling = { ...plain, stalls: { stalled: 2, restocks: 5 } }
    expect(riskReason(12, none, stalling, [], 30)).toBe(
      '12 on hand, about 3.1 a day; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29; at 2 of its last 5 restocks it had stopped selling with stock on the books (worth a count)',
    )
    const inPairs = { ...plain, packs: { size: 2, leftover: 1 } }
    expect(riskReason(13, none, inPairs, [], 30)).toBe(
      '13 on hand, about 3.1 a day; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29; sold only in multiples of 2, so the last 1 on the books will not sell (worth a count)',
    )
    const shrinking = { ...plain, shrink: { missing: 4, days: 61 } }
    expect(riskReason(12, none, shrinking, [], 30)).toBe(
      '12 on hand, about 3.1 a day; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29; its counts found 4 missing from the books over 61 days, so part of the stock on the books may not be on the shelf',
    )
    // With nothing on hand there is no stock on the books to doubt.
    expect(riskReason(0, none, shrinking, [], 30)).not.toContain('its counts found')
    // Returns of 5 % or more of what sells are named, rounded to a whole percent.
    expect(riskReason(12, { ...none, returnedShare: 0.123 }, plain, [], 30)).toBe(
      '12 on hand, about 3.1 a day, 12 % of it coming back as returns; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29',
    )
    expect(riskReason(12, { ...none, returnedShare: 0.044 }, plain, [], 30)).not.toContain('returns')
    // Write-offs beyond the returns (a negative share) of 5 % or more, too.
    expect(riskReason(12, { ...none, returnedShare: -0.08 }, plain, [], 30)).toBe(
      '12 on hand, about 3.1 a day, plus 8 % of that written off; nothing on order within the 10-day lead time; likely out of stock on 2026-09-29',
    )
    expect(riskReason(12, { ...none, returnedShare: -0.04 }, plain, [], 30)).not.toContain('written off')
  })

  test('books at or below 0 read as out of stock now, not as a stockout expected tomorrow; one day as a day', () => {
    const risk = { ...REASON_RISK, stockoutRisk: 1, onOrder: 0, inventoryPosition: 0, daysOfCover: 0 }
    const coming = [{ orderId: 'PO-77', openQuantity: 40, expectedDay: reasonDay('2026-10-03') }]
    const none = 'nothing on order within the 10-day lead time'
    const cases: [number, Partial<RiskNotes>, typeof coming, string][] = [
      [0, {}, [], `${none}; out of stock now`],
      [-2, {}, coming, 'order PO-77 (40) expected 2026-10-03; out of stock now'],
      [
        0,
        { reorders: { orders: 1, level: 4, days: 1 } },
        [],
        `${none}; its last order was placed with about 4 on hand and on order and came 1 day later; out of stock now`,
      ],
      [
        0,
        {
          unannounced: { ordersSeen: false, level: 0, receipts: 2, emptyShelf: { receipts: 2, daysOut: 1 } },
        },
        [],
        'no purchase orders seen: its last 2 restocks came after about 1 day out of stock; out of stock now',
      ],
      [
        0,
        { stalls: { stalled: 1, restocks: 1 } },
        [],
        `${none}; out of stock now; at its last restock it had stopped selling with stock on the books (worth a count)`,
      ],
      [
        0,
        { unannounced: { ordersSeen: false, level: 0, receipts: 0, emptyShelf: null } },
        [],
        'no purchase orders seen: a restock is assumed to come, as for most items; out of stock now',
      ],
    ]
    for (const [onHand, notes, orders, rest] of cases)
      expect(
        riskReason(
          onHand,
          { ...risk, onOrder: orders.length > 0 ? 40 : 0 },
          { ...NO_NOTES, ...notes },
          orders,
          30,
        ),
      ).toBe(`${onHand} on hand, about 3.1 a day; ${rest}`)
  })
})
