// The backtest's calibration error, verdict, segments and missed stockouts against hand-computed
// values on small synthetic inputs: predictions are fed straight into the pure functions (or, for
// the segments, hand-made item states), so nothing here depends on the risk formula.
import { describe, expect, test } from 'bun:test'
import { BacktestCollector, type BacktestData, type Predictions } from '../src/backtest/collect.ts'
import { renderHtml } from '../src/backtest/html.ts'
import {
  buildReport,
  calibrationWords,
  formatReport,
  MISSED_IN_RECORD,
  percent,
  reportRecord,
  skillWords,
  verdictOf,
} from '../src/backtest/report.ts'
import {
  type CalibrationBin,
  calibration,
  calibrationError,
  calibrationGap,
  largestMiscalibration,
  missedStockouts,
  scoreForecasts,
  warningSummary,
} from '../src/backtest/scores.ts'
import {
  averageDemandInterval,
  demandClass,
  demandClassOf,
  hasPurchaseOrders,
  scoreSegments,
  segmentOf,
  withOrders,
} from '../src/backtest/segments.ts'
import { parseBound } from '../src/backtest/window.ts'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { parseEvent } from '../src/core/event.ts'
import { computeMetrics } from '../src/core/metrics.ts'
import { ItemState } from '../src/core/state.ts'

/** `n` predictions of `p`, the first `stockouts` of them followed by a stockout. */
function repeated(groups: [p: number, n: number, stockouts: number][]): { p: number[]; y: number[] } {
  const p: number[] = []
  const y: number[] = []
  for (const [value, n, stockouts] of groups)
    for (let i = 0; i < n; i++) {
      p.push(value)
      y.push(i < stockouts ? 1 : 0)
    }
  return { p, y }
}

const bin = (k: number, count: number, meanPredicted: number, observedRate: number): CalibrationBin => ({
  lower: k / 10,
  upper: (k + 1) / 10,
  count,
  meanPredicted,
  observedRate,
})

describe('expected calibration error', () => {
  test('Σ (n_b / n)·|mean p_b − observed_b| over the bins', () => {
    // Bin 0: 0.05, y 0 → gap 0.05. Bin 1: 0.15, 0.12 → mean 0.135, observed 1/2 → 0.365.
    // Bin 9: 1, 0.95 → mean 0.975, observed 1/2 → 0.475. ECE = (0.05 + 2·0.365 + 2·0.475)/5 = 0.346.
    const bins = calibration([0.05, 0.15, 0.12, 1, 0.95], [0, 1, 0, 1, 0])
    expect(calibrationError(bins) as number).toBeCloseTo(0.346, 15)
  })

  test('0 when every bin is on its mean, null without predictions', () => {
    // 0.2 ×5 with one stockout; 0.6 ×5 with three.
    const { p, y } = repeated([
      [0.2, 5, 1],
      [0.6, 5, 3],
    ])
    expect(calibrationError(calibration(p, y)) as number).toBeCloseTo(0, 15)
    expect(calibrationError(calibration([], []))).toBeNull()
  })

  test('a bin p = 1 counts in the last bin; the baseline (p 0 or 1) has its ECE too', () => {
    // p 0 ×4 (1 stockout): gap 0.25; p 1 ×4 (2 stockouts): gap 0.5. ECE = (4·0.25 + 4·0.5)/8 = 0.375.
    const { p, y } = repeated([
      [0, 4, 1],
      [1, 4, 2],
    ])
    const scores = scoreForecasts(p, y, 1, { item: [], day: [], stockoutDay: [] })
    expect(scores.ece as number).toBeCloseTo(0.375, 15)
  })
})

describe('the calibration verdict rule', () => {
  test('a bin is off when the gap exceeds max(0.05, 2 standard errors of a calibrated rate)', () => {
    // n 30, p̄ 0.5: SE = √(0.25/30) = 0.0913, 2 SE = 0.1826. 20/30 → gap 0.1667: within; 21/30 → 0.2: off.
    expect(calibrationGap(bin(5, 30, 0.5, 20 / 30))).toBe(0)
    expect(calibrationGap(bin(5, 30, 0.5, 21 / 30))).toBe(1)
    expect(calibrationGap(bin(5, 30, 0.5, 9 / 30))).toBe(-1)
    // n 1000, p̄ 0.1: 2 SE = 0.019, so 0.05 applies. 0.14 → 0.04: within; 0.16 → 0.06: off.
    expect(calibrationGap(bin(1, 1000, 0.1, 0.14))).toBe(0)
    expect(calibrationGap(bin(1, 1000, 0.1, 0.16))).toBe(1)
    // Fewer than 30 predictions: not judged, however far off.
    expect(calibrationGap(bin(9, 29, 0.95, 0))).toBe(0)
  })

  test('the run of adjacent bins off the same way that weighs most in the ECE', () => {
    const bins = calibration([], [])
    bins[0] = bin(0, 500, 0.05, 0.05) // on the mark
    bins[2] = bin(2, 40, 0.25, 0.5) // understated: 40·0.25 = 10
    bins[3] = bin(3, 40, 0.35, 0.5) // understated: 40·0.15 = 6 → run 2–3 weighs 16
    bins[5] = bin(5, 10, 0.55, 0) // too few to judge: ends nothing, starts nothing
    bins[7] = bin(7, 50, 0.75, 0.5) // overstated: 12.5
    bins[8] = bin(8, 50, 0.85, 0.6) // overstated: 12.5 → run 7–8 weighs 25, worst bin 7 (first of equals)
    bins[9] = bin(9, 60, 0.95, 0.95) // on the mark
    expect(largestMiscalibration(bins)).toEqual({
      first: 7,
      last: 8,
      direction: -1,
      count: 100,
      weightedGap: 25,
      worst: 7,
    })
    bins[3] = bin(3, 100, 0.35, 0.6) // now the low run weighs 10 + 25 = 35
    expect(largestMiscalibration(bins)).toMatchObject({ first: 2, last: 3, direction: 1, worst: 2 })
    // A change of direction between adjacent bins splits the run; equal weights: the lower run.
    bins[4] = bin(4, 100, 0.45, 0.1) // overstated: 100·0.35 = 35, as much as the run 2–3
    expect(largestMiscalibration(bins)).toMatchObject({ first: 2, last: 3, direction: 1 })
    bins[4] = bin(4, 120, 0.45, 0.1) // 42
    expect(largestMiscalibration(bins)).toMatchObject({ first: 4, last: 4, direction: -1, count: 120 })
    expect(largestMiscalibration(calibration([0.1, 0.9], [1, 0]))).toBeNull() // nothing judged
  })

  const verdict = (groups: [number, number, number][]) => {
    const { p, y } = repeated(groups)
    return verdictOf(scoreForecasts(p, y, 0.5, { item: [], day: [], stockoutDay: [] }))
  }

  test('well calibrated', () => {
    // 0.05 ×100 (5 stockouts), 0.5 ×40 (20), 0.9 ×50 (45): every bin on its mean, ECE 0.
    const v = verdict([
      [0.05, 100, 5],
      [0.5, 40, 20],
      [0.9, 50, 45],
    ])
    expect(v.calibration).toBe('well calibrated (ECE 0.000)')
    expect(v.region).toBeNull()
  })

  test('over-confident at the top: a high risk overstated', () => {
    // 0.05 ×100 (5): on the mark. 0.9 ×40 with 20 stockouts: observed 0.5, gap 0.4 > max(0.05, 2·0.047).
    // ECE = 40·0.4 / 140 = 0.114.
    const v = verdict([
      [0.05, 100, 5],
      [0.9, 40, 20],
    ])
    expect(v.calibration).toBe(
      'over-confident above 0.9 (the risk is overstated): items given 0.90 stocked out 50 % of the time (ECE 0.114)',
    )
    expect(v.region).toMatchObject({ first: 9, last: 9, direction: -1, count: 40 })
  })

  test('under-confident at the bottom: a low risk overstated', () => {
    // 0.15 ×200 with 0 stockouts: gap 0.15 (2 SE = 0.05); 0.05 ×100 with 1: gap 0.04, within 0.05.
    // ECE = (100·0.04 + 200·0.15) / 300 = 0.1133.
    const v = verdict([
      [0.05, 100, 1],
      [0.15, 200, 0],
    ])
    expect(v.calibration).toBe(
      'under-confident between 0.1 and 0.2 (the risk is overstated): items given 0.15 stocked out 0 % of the time (ECE 0.113)',
    )
    const low = verdict([
      [0.05, 100, 20],
      [0.15, 100, 40],
    ])
    // Both bins understated (0.2 vs 0.05, 0.4 vs 0.15): over-confident that little would happen.
    expect(low.calibration).toBe(
      'over-confident below 0.2 (the risk is understated): items given 0.15 stocked out 40 % of the time (ECE 0.200)',
    )
  })

  test('a region across 0.5 is only miscalibrated; across every bin, at every level', () => {
    const across = verdict([
      [0.45, 40, 0],
      [0.55, 40, 0],
    ])
    expect(across.calibration).toStartWith('miscalibrated between 0.4 and 0.6 (the risk is overstated)')
    // p = k/10 + 0.02 ×100 in each bin, every one followed by a stockout: the top bin's gap 0.08
    // exceeds max(0.05, 2·√(0.92·0.08/100) = 0.054), so every bin is understated.
    const every = verdict(
      Array.from({ length: 10 }, (_, k) => [k / 10 + 0.02, 100, 100] as [number, number, number]),
    )
    expect(every.calibration).toStartWith(
      'miscalibrated at every level of risk (the risk is understated): items given 0.02 stocked out 100 % of the time',
    )
  })

  test('too few predictions in every bin: not judged', () => {
    expect(verdict([[0.9, 29, 0]]).calibration).toBe(
      'calibration not judged: no bin of predicted risk holds 30 predictions (ECE 0.900)',
    )
    expect(verdict([]).text).toBe(
      'calibration not judged: nothing was scored; Brier skill undefined: nothing was scored',
    )
  })

  test('the Brier skill in words', () => {
    const scores = scoreForecasts([0.1, 0.9], [0, 1], 0.5, { item: [], day: [], stockoutDay: [] })
    const words = (brierSkillScore: number | null, baseRate: number, stockouts = 1) =>
      skillWords({ ...scores, brierSkillScore, baseRate, stockouts })
    expect(words(0.23, 0.041)).toBe(
      'Brier skill 0.23: better than always saying the base rate (4.1 %) by 23 %',
    )
    expect(words(-0.154, 0.5)).toBe(
      'Brier skill -0.15: worse than always saying the base rate (50 %) by 15 %',
    )
    expect(words(0.004, 0.2)).toBe('Brier skill 0.00: no better than always saying the base rate (20 %)')
    expect(words(null, 0, 0)).toBe('Brier skill undefined: no prediction was followed by a stockout')
    expect(words(null, 1, 2)).toBe('Brier skill undefined: every prediction was followed by a stockout')
    expect([percent(0), percent(0.041), percent(0.54), percent(1)]).toEqual(['0 %', '4.1 %', '54 %', '100 %'])
  })

  test('the verdict joins the two', () => {
    // Brier 0.01 against 0.25: skill 0.96. Bins 0.1 ×50 (5) and 0.9 ×50 (45): calibrated.
    const { p, y } = repeated([
      [0.1, 50, 5],
      [0.9, 50, 45],
    ])
    const scores = scoreForecasts(p, y, 0.5, { item: [], day: [], stockoutDay: [] })
    expect(calibrationWords(scores, null)).toBe('well calibrated (ECE 0.000)')
    expect(verdictOf(scores).text).toBe(
      'well calibrated (ECE 0.000); Brier skill 0.64: better than always saying the base rate (50 %) by 64 %',
    )
  })
})

describe('missed stockouts', () => {
  // Item 0: days 1, 2, 3 about the stockout on day 4 (alert on day 3: caught).
  // Item 1: days 5, 6 about day 7, risks 0.3 and 0.45: missed; highest 0.45 on day 6, on-hand 4 at day 6.
  // Item 1: day 8 about day 9 at exactly the threshold: caught. Item 0: day 10 about day 12, risk
  // 0.2, 0.2 on days 10 and 11: missed, the highest first predicted on day 10. Item 0, day 6: y = 0.
  const input = {
    item: [0, 0, 0, 1, 1, 1, 0, 0, 0],
    day: [1, 2, 3, 5, 6, 8, 6, 10, 11],
    stockoutDay: [4, 4, 4, 7, 7, 9, -1, 12, 12],
    onHand: [9, 8, 7, 6, 4, 3, 5, 2, 1],
  }
  const p = [0.1, 0.2, 0.5, 0.3, 0.45, 0.5, 0.99, 0.2, 0.2]

  test('per stockout, the highest risk before it and the on-hand at the latest close', () => {
    expect(missedStockouts(input, p, 0.5)).toEqual([
      { item: 1, day: 7, predictions: 2, highestRisk: 0.45, highestRiskDay: 6, lastDay: 6, onHand: 4 },
      { item: 0, day: 12, predictions: 2, highestRisk: 0.2, highestRiskDay: 10, lastDay: 11, onHand: 1 },
    ])
  })

  test('their number is the stockouts less those caught', () => {
    const warning = warningSummary(input, p, 0.5)
    // By hand: stockouts on days 4 and 12 of item 0 and 7 and 9 of item 1; caught (a risk ≥ 0.5
    // before it): day 4 (0.5 on day 3) and day 9 (0.5 on day 8).
    expect(warning).toMatchObject({ stockouts: 4, caught: 2 })
    expect(warning.stockouts - warning.caught).toBe(missedStockouts(input, p, 0.5).length)
    expect(missedStockouts(input, p, 0.1)).toEqual([])
  })
})

/** A state as of `asOfDay`: sales pairs (day, units), the out-of-stock days, the first day. */
function stateWith(asOfDay: number, firstDay: number, sales: number[], outDays: number[] = []): ItemState {
  const state = new ItemState('S:W')
  state.latestTs = asOfDay * 86_400_000
  state.firstDay = firstDay
  state.onHand = 10
  state.sales = sales.length === 0 ? null : sales
  state.outDays = outDays.length === 0 ? null : outDays
  return state
}

/** Pairs (day, units) for every `step`-th day of from … to. */
function daily(from: number, to: number, units: number, step = 1): number[] {
  const pairs: number[] = []
  for (let d = from; d <= to; d += step) pairs.push(d, units)
  return pairs
}

describe('segments from hand-made states', () => {
  const classify = (state: ItemState, t = state.asOfDay) =>
    demandClass(averageDemandInterval(state, t), computeMetrics(state, t).velocity30d)

  test('fast: 2 units every day of W_30 (ADI 1, 2 a day)', () => {
    const state = stateWith(100, 50, daily(71, 100, 2))
    expect(averageDemandInterval(state, 100)).toBe(1)
    expect(classify(state)).toBe('fast')
  })

  test('intermittent: 4 units every other day (ADI 2 > 1.32, still 2 a day)', () => {
    const state = stateWith(100, 50, daily(71, 100, 4, 2))
    expect(averageDemandInterval(state, 100)).toBe(2)
    expect(classify(state)).toBe('intermittent')
  })

  test('slow: below a unit a day, however regular', () => {
    // 1 unit on 20 of 30 days: 0.67 a day (ADI 1.5); 0.9 a day on every day would be slow too.
    expect(classify(stateWith(100, 50, daily(71, 90, 1)))).toBe('slow')
    expect(demandClass(1, 0.9)).toBe('slow')
    expect(demandClass(1.32, 1)).toBe('fast')
    expect(demandClass(1.33, 1)).toBe('intermittent')
    expect(demandClass(Number.POSITIVE_INFINITY, 0)).toBe('slow')
  })

  test('days out of stock without a sale do not make a fast mover intermittent', () => {
    // 2 a day on days 71–90, out of stock 91–100: 20 days it could sell, 20 with a sale → ADI 1.
    // A sale on an out-of-stock day (90) still counts as a day it could sell.
    const state = stateWith(100, 50, daily(71, 90, 2), [90, ...Array.from({ length: 10 }, (_, i) => 91 + i)])
    expect(averageDemandInterval(state, 100)).toBe(1)
    expect(classify(state)).toBe('fast') // 40/30 = 1.33 a day
  })

  test('W_30 starts at the first day, and slides when a close is carried forward', () => {
    // Listed on day 96, a unit a day: 5 days, ADI 1, 1 a day → fast.
    expect(classify(stateWith(100, 96, daily(96, 100, 1)))).toBe('fast')
    // A close of day 90 with a sale every day of 61–90, carried to day 100: W_30 is 71–100, sales on
    // 71–90 only → ADI 30/20 = 1.5.
    const carried = stateWith(90, 1, daily(61, 90, 3))
    expect(averageDemandInterval(carried, 90)).toBe(1)
    expect(averageDemandInterval(carried, 100)).toBe(1.5)
    expect(classify(carried, 100)).toBe('intermittent') // 60/30 = 2 a day
    expect(averageDemandInterval(stateWith(100, 1, []), 100)).toBe(Number.POSITIVE_INFINITY)
  })

  test('with purchase orders: orders or deliveries on the state', () => {
    const state = stateWith(100, 50, daily(71, 100, 2))
    expect(hasPurchaseOrders(state)).toBe(false)
    expect(withOrders(segmentOf(state, 100, 2))).toBe(false)
    state.deliveries = [1, 1]
    expect(hasPurchaseOrders(state)).toBe(true)
    state.deliveries = null
    state.orders = [
      {
        id: 'PO-1',
        ordered: 10,
        expectedDay: 105,
        received: 0,
        lastDay: 99,
        recorded: false,
        placedAt: 0,
        placedDay: 99,
        placedPosition: 0,
        undated: false,
      },
    ]
    const segment = segmentOf(state, 100, 2)
    expect(withOrders(segment)).toBe(true)
    expect(demandClassOf(segment)).toBe('fast')
    expect(demandClassOf(segmentOf(stateWith(100, 50, daily(71, 90, 1)), 100, 0.67))).toBe('slow')
  })

  test('scores per segment', () => {
    // Codes: fast 0, slow 1, intermittent 2, +4 with orders.
    // fast: p 0.2, 0.8 / y 0, 1 → Brier 0.04, base 0.5, skill 0.84, ECE 0.2, AUC 1.
    // slow with orders: p 0.5 / y 1 → base 1, skill undefined. Intermittent: none.
    const segments = scoreSegments([0.2, 0.8, 0.5], [0, 1, 1], [0, 0, 5])
    expect(segments.map((s) => [s.name, s.n, s.stockouts])).toEqual([
      ['fast', 2, 1],
      ['slow', 1, 1],
      ['intermittent', 0, 0],
      ['with_purchase_orders', 1, 1],
      ['without_purchase_orders', 2, 1],
    ])
    const fast = segments[0]
    expect(fast?.baseRate).toBe(0.5)
    expect(fast?.brierSkillScore as number).toBeCloseTo(0.84, 15)
    expect(fast?.ece as number).toBeCloseTo(0.2, 15)
    expect(fast?.rocAuc).toBe(1)
    expect(segments[1]).toMatchObject({ baseRate: 1, brierSkillScore: null, rocAuc: null, ece: 0.5 })
    expect(segments[2]).toMatchObject({ baseRate: null, brierSkillScore: null, ece: null, rocAuc: null })
  })

  test('the collector stores each prediction’s segment and on-hand as of its close', () => {
    // 100 on hand on day 1, 2 sold every day 1–20, a purchase order on day 10: fast throughout,
    // without orders before day 10, with them from its close on. Lead time 7: scored through day 13.
    const day = (d: number) => `2024-01-${String(d).padStart(2, '0')}`
    const events = [
      { event_id: 'c', event_type: 'stock_count', quantity: 100, timestamp: `${day(1)}T00:00:00Z` },
      ...Array.from({ length: 20 }, (_, i) => ({
        event_id: `s${i + 1}`,
        event_type: 'sale',
        quantity: 2,
        timestamp: `${day(i + 1)}T12:00:00Z`,
      })),
      {
        event_id: 'po',
        event_type: 'purchase_order',
        quantity: 50,
        order_id: 'PO-1',
        timestamp: `${day(10)}T13:00:00Z`,
      },
    ].sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1))
    const collector = new BacktestCollector(
      DEFAULT_CORE_CONFIG,
      parseBound('30d', '--since'),
      parseBound('0d', '--until'),
    )
    for (const event of events) {
      const parsed = parseEvent(JSON.stringify({ sku: 'S', warehouse_id: 'W', ...event }))
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.rejection))
      collector.process(parsed.event)
    }
    const { predictions } = collector.finish()
    expect(predictions.length).toBe(13)
    const first = predictions.day[0] as number
    expect([...predictions.onHand]).toEqual(Array.from({ length: 13 }, (_, i) => 100 - 2 * (i + 1)))
    expect([...predictions.segment].map(demandClassOf)).toEqual(Array(13).fill('fast'))
    expect(
      [...predictions.segment].map((s, k) => [(predictions.day[k] as number) - first + 1, withOrders(s)]),
    ).toEqual(Array.from({ length: 13 }, (_, i) => [i + 1, i + 1 >= 10]))
  })
})

/** Scored predictions made up for the report, ordered by item key then day as labelOutcomes orders them. */
function syntheticData(
  rows: { item: number; day: number; p: number; y: number; s: number; segment: number }[],
): BacktestData {
  const n = rows.length
  const predictions: Predictions = {
    length: n,
    item: Int32Array.from(rows.map((r) => r.item)),
    day: Int32Array.from(rows.map((r) => r.day)),
    risk: Float64Array.from(rows.map((r) => r.p)),
    baseline: Float64Array.from(rows.map((r) => (r.p >= 0.5 ? 1 : 0))),
    horizon: new Int32Array(n).fill(7),
    outcome: Uint8Array.from(rows.map((r) => r.y)),
    stockoutDay: Int32Array.from(rows.map((r) => (r.y === 1 ? r.s : -1))),
    onHand: Float64Array.from(rows.map((r) => 20 - (r.day % 10))),
    segment: Uint8Array.from(rows.map((r) => r.segment)),
  }
  return {
    endDay: 20_000,
    window: { since: 19_000, until: 19_990 },
    itemKeys: ['B:W', 'A:W'],
    counts: { closes: n, scored: n, leftOut: 0, onHandUnknown: 0, outOfStock: 0 },
    predictions,
  }
}

describe('the report carries the new figures', () => {
  // Item 1 (A:W) then item 0 (B:W), as the key order puts them. 250 stockouts of A:W none alerted
  // (p 0.1), one of B:W alerted (p 0.9) and 40 non-stockouts at 0.1.
  const rows = [
    ...Array.from({ length: 250 }, (_, i) => ({
      item: 1,
      day: 19_000 + 2 * i,
      p: 0.1,
      y: 1,
      s: 19_001 + 2 * i,
      segment: 2,
    })),
    ...Array.from({ length: 40 }, (_, i) => ({ item: 0, day: 19_000 + i, p: 0.1, y: 0, s: -1, segment: 4 })),
    { item: 0, day: 19_500, p: 0.9, y: 1, s: 19_502, segment: 4 },
  ]
  const report = buildReport(
    syntheticData(rows),
    DEFAULT_CORE_CONFIG,
    { kind: 'files', files: ['x.jsonl'] },
    null,
  )
  const record = reportRecord(report)

  test('ECE beside the other scores, for the model and the baseline', () => {
    // Model: bin 1 holds 290 (250 stockouts): gap |0.1 − 250/290|; bin 9 holds 1 (p 0.9, y 1): gap 0.1.
    const expected = (290 * Math.abs(0.1 - 250 / 290) + 0.1) / 291
    expect(record.model.ece as number).toBeCloseTo(expected, 12)
    // Baseline: p 0 ×290 (250 stockouts), p 1 ×1 (y 1).
    expect(record.baseline.ece as number).toBeCloseTo((290 * (250 / 290)) / 291, 12)
  })

  test('the verdict, first in the terminal and at the top of the page', () => {
    // 0.1 said of 290 item-days of which 250 stocked out: over-confident that they would not.
    expect(record.verdict.text).toStartWith('over-confident between 0.1 and 0.2 (the risk is understated)')
    expect(record.verdict.miscalibrated).toMatchObject({
      from: 0.1,
      to: 0.2,
      risk: 'understated',
      predictions: 290,
    })
    expect(record.verdict.skill).toStartWith('Brier skill -')
    expect(formatReport(report).split('\n')[0]).toBe(`verdict      ${record.verdict.text}`)
    const page = renderHtml(report)
    const verdictAt = page.indexOf('<p class="verdict" id="verdict">')
    expect(verdictAt).toBeGreaterThan(-1)
    expect(verdictAt).toBeLessThan(page.indexOf('<h2>'))
    for (const term of ['<dt>Brier skill</dt>', '<dt>ROC AUC</dt>', '<dt>calibration error</dt>'])
      expect(page).toContain(term)
    expect(page).toContain('model alerting at stockout_risk ≥ 0.5')
  })

  test('segments', () => {
    expect(Object.keys(record.segments)).toEqual([
      'fast',
      'slow',
      'intermittent',
      'with_purchase_orders',
      'without_purchase_orders',
    ])
    expect(record.segments.intermittent).toMatchObject({
      n: 250,
      stockouts: 250,
      base_rate: 1,
      brier_skill_score: null,
    })
    expect(record.segments.with_purchase_orders).toMatchObject({ n: 41, stockouts: 1, roc_auc: 1 })
    expect(record.segments.fast?.n).toBe(41)
    expect(record.segment_rule).toContain('Syntetos–Boylan')
    expect(formatReport(report)).toMatch(/intermittent demand\s+250\s+250\s+1\.000\s+-/)
  })

  test('missed stockouts: counted in full, listed by item key then day up to the cap', () => {
    const missed = record.missed_stockouts
    expect(missed.total).toBe(250)
    expect(missed.listed).toBe(MISSED_IN_RECORD)
    expect(missed.stockouts).toHaveLength(MISSED_IN_RECORD)
    expect(missed.stockouts[0]).toEqual({
      item: 'A:W',
      day: '2022-01-09', // day 19 001
      predictions: 1,
      highest_risk: 0.1,
      highest_risk_day: '2022-01-08',
      last_prediction_day: '2022-01-08',
      on_hand: 20,
    })
    const terminal = formatReport(report)
    expect(terminal).toContain('missed stockouts: 250 of 251 stockouts had no alert (stockout_risk ≥ 0.5)')
    expect(terminal.match(/^A:W {2}/gm)).toHaveLength(10)
    const page = renderHtml(report)
    expect(page.slice(page.indexOf('<p id="missed">')).match(/<tr><th scope="row">A:W/g)).toHaveLength(50)
  })

  test('missed stockouts sort by item key, whatever the item index', () => {
    const data = syntheticData([
      { item: 0, day: 19_000, p: 0.1, y: 1, s: 19_003, segment: 0 },
      { item: 1, day: 19_005, p: 0.2, y: 1, s: 19_006, segment: 0 },
      { item: 1, day: 19_000, p: 0.3, y: 1, s: 19_002, segment: 0 },
    ])
    const listed = reportRecord(buildReport(data, DEFAULT_CORE_CONFIG, { kind: 'files', files: [] }, null))
      .missed_stockouts.stockouts
    expect(listed.map((m) => [m.item, m.day])).toEqual([
      ['A:W', '2022-01-10'],
      ['A:W', '2022-01-14'],
      ['B:W', '2022-01-11'],
    ])
  })
})
