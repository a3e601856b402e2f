// Each item calibrated by its own record (calibration.ts): the odds scaling worked out by hand, and
// the record a stream leaves, day by day, against closes worked out by hand from the README's rules.
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { calibrated, calibrationFactor, recordSummary, uncalibratedBelow } from '../src/core/calibration.ts'
import { closeOf, stateOfClose } from '../src/core/close.ts'
import type { InventoryEvent } from '../src/core/event.ts'
import { assessRisk, stockoutRisk, uncalibratedRisk } from '../src/core/risk.ts'
import { restoreState, snapshotOf } from '../src/core/snapshot.ts'
import { applyEvent, ItemState } from '../src/core/state.ts'
import { config, event, START } from './support/item-events.ts'

/** The item's state after these events, its record kept. */
function withRecord(events: InventoryEvent[]): ItemState {
  const state = new ItemState('S:W')
  for (const e of events) applyEvent(state, e, config)
  return state
}

/** The risk at the close of `day` before the correction, from the events up to that close, replayed afresh. */
function closeRiskAfter(events: InventoryEvent[], day: number): number {
  return uncalibratedRisk(withRecord(events), config, START + day)
}

describe('the odds scaling', () => {
  test('Σp 10 and Σy 20 with the prior of 20: odds × 40/30; a risk of 0.2 (odds 1/4) × 1.5 is 3/11', () => {
    expect(calibrationFactor([10, 20])).toBe(40 / 30)
    // odds 0.25 × 1.5 = 0.375: 0.375 / 1.375 = 3/11.
    expect(calibrated(0.2, 1.5)).toBeCloseTo(3 / 11, 15)
    expect(uncalibratedBelow(3 / 11, 1.5)).toBeCloseTo(0.2, 15)
    expect(calibrationFactor(null)).toBe(1)
    expect(calibrated(1, 3)).toBe(1)
    expect(calibrated(0, 3)).toBe(0)
  })

  test('the reason names the record when it moves the odds by a tenth or more', () => {
    expect(recordSummary(null)).toBeNull()
    expect(recordSummary([2, 3, 5, 0.3])).toBeNull() // × 23/22 = 1.05
    expect(recordSummary([2, 5])).toEqual({ foretold: 2, came: 5 }) // × 25/22 = 1.14
    expect(recordSummary([10, 0])).toEqual({ foretold: 10, came: 0 }) // × 20/30 = 0.67
    expect(recordSummary([2.1, 0])).toBeNull() // × 20/22.1 = 0.905
  })

  test('below the mapped threshold before the correction is below the threshold after it, and only then', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        fc.double({ min: 0.05, max: 20, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (threshold, factor, risk) => {
          const below = uncalibratedBelow(threshold, factor)
          expect(Math.abs(calibrated(below, factor) - threshold)).toBeLessThan(1e-12)
          if (Math.abs(risk - below) > 1e-12) expect(risk < below).toBe(calibrated(risk, factor) < threshold)
        },
      ),
    )
  })
})

describe('the record a stream leaves', () => {
  // Lead time 2 days. Day 0: a count of 3. Days 1, 2, 3: a sale each (2, 1, 0: day 3 out of stock).
  // Day 4: a restock of 5. Day 5: a sale (4). Day 8: a sale (3).
  const events = [
    event('stock_count', 0, 3, { leadTimeDays: 2 }),
    event('sale', 1, 1),
    event('sale', 2, 1),
    event('sale', 3, 1),
    event('restock', 4, 5),
    event('sale', 5, 1),
    event('sale', 8, 1),
  ]

  test('a close taken as the stream moves past a day with stock and none waiting, settled once its lead time has passed', () => {
    // Day by day, as the stream moves to the next event's day:
    //   → 1: close of 0 taken (3 on hand).                                       waiting 0
    //   → 2: 0 waits (0 + 2 is not before 2).
    //   → 3: 0 settles (days 1–2 in stock: y 0); close of 2 taken (1 on hand).   waiting 2
    //   → 5: 2 settles (days 3–4: day 3 out, y 1); close of 4 taken (5).          waiting 4
    //   → 8: 4 settles (days 5–6: 4 on hand, then no events: y 0); close of 5 taken (its days 6–7
    //        share day 6 with the close of 4's: the stream skipped days 6 and 7).    waiting 5
    const before = (day: number) => events.filter((e) => e.ts < (START + day + 1) * 86_400_000)
    const [p0, p2, p4, p5] = [0, 2, 4, 5].map((day) => closeRiskAfter(before(day), day)) as number[]
    const [settled, stockouts, ...waiting] = withRecord(events).calibration as number[]
    expect(settled).toBeCloseTo((p0 as number) + (p2 as number) + (p4 as number), 15)
    expect(stockouts).toBe(1)
    expect(waiting).toEqual([START + 5, p5 as number])
  })

  test('the stock standing at 0 after a late event counts the days without events that follow', () => {
    // Lead time 3. Day 0: a count of 5; day 2: a sale (4), then a write-off of 4 dated day 0 arrives
    // late (0: day 0 marked out, not day 2). Day 9: a restock.
    const late = [
      event('stock_count', 0, 5, { leadTimeDays: 3 }),
      event('sale', 2, 1),
      event('adjustment', 0, -4),
      event('restock', 9, 5),
    ]
    // → 2: close of 0 taken. → 9: it settles: days 1–3; day 3 had no events and the stock stood at 0
    // from the close of day 2 on: y 1. No close of day 2 (0 on hand).
    const p0 = closeRiskAfter(late.slice(0, 1), 0)
    expect(withRecord(late).calibration).toEqual([p0, 1])
  })

  test('a lead time grown to 120 days or more drops the waiting close unsettled: its days out are past the memory', () => {
    const growing = [
      event('stock_count', 0, 50, { leadTimeDays: 2 }),
      event('sale', 1, 1, { leadTimeDays: 150 }),
      event('sale', 5, 1),
    ]
    // → 1: the close of 0 taken (lead time 2 at the close). → 5: the lead time is 150: dropped.
    expect(withRecord(growing.slice(0, 2)).calibration).toEqual([
      0,
      0,
      START,
      closeRiskAfter(growing.slice(0, 1), 0),
    ])
    expect(withRecord(growing).calibration).toEqual([0, 0])
  })

  test('one close waits at a time: with a lead time of 20 days, the close of day 0 and then that of day 20', () => {
    const daily = [event('stock_count', 0, 1000, { leadTimeDays: 20 })]
    for (let day = 1; day <= 30; day++) daily.push(event('sale', day, 1))
    const [settled, stockouts, ...waiting] = withRecord(daily).calibration as number[]
    // The close of 0 settles as the stream moves to day 21 (0 + 20 < 21), and the close of 20 is taken.
    expect(settled).toBe(closeRiskAfter(daily.slice(0, 1), 0))
    expect(stockouts).toBe(0)
    expect(waiting).toEqual([START + 20, closeRiskAfter(daily.slice(0, 21), 20)])
  })

  test('the risk a planner sees is the model risk with its odds scaled by the record', () => {
    const state = withRecord(events)
    const record = state.calibration as number[]
    const factor = ((record[1] as number) + 20) / ((record[0] as number) + 20)
    const raw = uncalibratedRisk(state, config, state.asOfDay)
    const odds = (factor * raw) / (1 - raw)
    expect(stockoutRisk(state, config)).toBeCloseTo(odds / (1 + odds), 15)
    expect(assessRisk(state, config).stockoutRisk).toBeCloseTo(odds / (1 + odds), 15)
    // A threshold the corrected risk is above is not answered with a bound below it.
    expect(stockoutRisk(state, config, state.asOfDay, (odds / (1 + odds)) * 0.999)).toBeCloseTo(
      odds / (1 + odds),
      15,
    )
  })

  test('kept in consume’s stored states and in the day closes the backtest reads', () => {
    const state = withRecord(events)
    const restored = restoreState(JSON.parse(JSON.stringify(snapshotOf(state))))
    expect(restored.calibration).toEqual(state.calibration)
    const fromClose = stateOfClose(closeOf(state))
    expect(stockoutRisk(fromClose, config)).toBe(stockoutRisk(state, config) as number)
  })
})
