// invpipe backtest: the scoring functions against hand-computed values and an independent Python
// computation, the window, the close-of-day semantics, the hand-built fixtures end to end, and the CLI.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BacktestCollector } from '../src/backtest/collect.ts'
import { renderHtml } from '../src/backtest/html.ts'
import { buildReport, reportRecord, thinCurve } from '../src/backtest/report.ts'
import {
  averagePrecision,
  baseRate,
  brierScore,
  brierSkillScore,
  calibration,
  calibrationBin,
  contingency,
  median,
  precisionRecallCurve,
  riskLevelTable,
  rocAuc,
  rocCurve,
  thresholdSteps,
  trapezoidArea,
  warningSummary,
} from '../src/backtest/scores.ts'
import { parseBound, resolveWindow } from '../src/backtest/window.ts'
import { DEFAULT_CORE_CONFIG } from '../src/core/config.ts'
import { Engine } from '../src/core/engine.ts'
import { parseEvent } from '../src/core/event.ts'
import { dayOf } from '../src/core/time.ts'
import { type CliOptions, invpipe } from './support/cli.ts'
import { pythonJson } from './support/python.ts'
import { expectSubset } from './support/subset.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const FIXTURES = join(ROOT, 'fixtures/backtest')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-backtest-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const cli = (args: string[], options: Omit<CliOptions, 'cwd'> = {}) =>
  invpipe(['backtest', ...args], { cwd: dir, ...options })

describe('scores against hand-computed values', () => {
  // pos {0.9, 0.8, 0.3}, neg {0.8, 0.3, 0.1}: ties across the classes at 0.8 and at 0.3.
  const p = [0.9, 0.8, 0.8, 0.3, 0.3, 0.1]
  const y = [1, 1, 0, 1, 0, 0]

  test('Brier score, base rate, skill score', () => {
    expect(brierScore([0.1, 0.9, 0.5], [0, 1, 1]) as number).toBeCloseTo(0.27 / 3, 15)
    expect(baseRate([0, 1, 1, 1])).toBe(0.75)
    // BS_ref = 0.75 · 0.25 = 0.1875; BSS = 1 − 0.09/0.1875 = 0.52
    expect(brierSkillScore(0.09, 0.75) as number).toBeCloseTo(0.52, 15)
    expect(brierSkillScore(0.1, 1)).toBeNull()
    expect(brierScore([], [])).toBeNull()
  })

  test('ROC AUC by mid-ranks: ties count one half', () => {
    // Ascending: 0.1 (n) rank 1; 0.3 (p, n) ranks 2–3 → 2.5; 0.8 (p, n) 4–5 → 4.5; 0.9 (p) 6.
    // R₁ = 2.5 + 4.5 + 6 = 13, U = 13 − 3·4/2 = 7, AUC = 7/9. Pairwise: 3 + 2.5 + 1.5 = 7 of 9.
    expect(rocAuc(p, y) as number).toBeCloseTo(7 / 9, 15)
    expect(rocAuc([0.5, 0.5, 0.5], [1, 0, 1])).toBe(0.5)
    expect(rocAuc([0.2, 0.9], [0, 1])).toBe(1)
    expect(rocAuc([0.9, 0.2], [0, 1])).toBe(0)
    expect(rocAuc([0.3, 0.4], [1, 1])).toBeNull()
  })

  test('the ROC curve: one point per distinct p, its trapezoid area is the AUC', () => {
    const roc = rocCurve(thresholdSteps(p, y))
    expect(roc.map((r) => [r.falsePositiveRate, r.truePositiveRate])).toEqual([
      [0, 0],
      [0, 1 / 3],
      [1 / 3, 2 / 3],
      [2 / 3, 1],
      [1, 1],
    ])
    const area = trapezoidArea(roc.map((r) => ({ x: r.falsePositiveRate, y: r.truePositiveRate })))
    expect(area).toBeCloseTo(7 / 9, 15)
  })

  test('average precision: Σ ΔR·P over the distinct thresholds, ties entering together', () => {
    // ≥ 0.9: TP 1 FP 0 (R 1/3, P 1); ≥ 0.8: 2, 1 (R 2/3, P 2/3); ≥ 0.3: 3, 2 (R 1, P 3/5); ≥ 0.1: 3, 3.
    // AP = 1/3 + 1/3·2/3 + 1/3·3/5 = 34/45.
    const curve = precisionRecallCurve(thresholdSteps(p, y))
    expect(curve.map((c) => [c.recall, c.precision])).toEqual([
      [1 / 3, 1],
      [2 / 3, 2 / 3],
      [1, 3 / 5],
      [1, 1 / 2],
    ])
    expect(averagePrecision(curve) as number).toBeCloseTo(34 / 45, 15)
    expect(averagePrecision(precisionRecallCurve(thresholdSteps([0.2, 0.4], [0, 0])))).toBeNull()
  })

  test('contingency: p equal to the threshold alerts', () => {
    const c = contingency([0.5, 0.49, 0.7, 0.1, 0.5], [1, 1, 0, 0, 0], 0.5)
    expect(c).toMatchObject({ hits: 1, misses: 1, falseAlarms: 2, correctNegatives: 1 })
    expect(c.pod).toBe(0.5)
    expect(c.far).toBeCloseTo(2 / 3, 15)
    expect(c.pofd).toBeCloseTo(2 / 3, 15)
    expect(c.precision).toBeCloseTo(1 / 3, 15)
    expect(c.f1).toBeCloseTo(2 / 5, 15) // 2·1 / (2·1 + 1 + 2)
    const none = contingency([0.1], [0], 0.5)
    expect(none.pod).toBeNull()
    expect(none.far).toBeNull()
    expect(none.f1).toBeNull()
  })

  test('calibration bins: [k/10, (k+1)/10), the last one closed', () => {
    expect([0, 0.0999999, 0.1, 0.3, 0.29999999999999993, 0.7, 0.95, 1].map((v) => calibrationBin(v))).toEqual(
      [0, 0, 1, 3, 2, 7, 9, 9],
    )
    const bins = calibration([0.05, 0.15, 0.12, 1, 0.95], [0, 1, 0, 1, 0])
    expect(bins).toHaveLength(10)
    expect(bins[0]).toMatchObject({ count: 1, meanPredicted: 0.05, observedRate: 0 })
    expect(bins[1]?.count).toBe(2)
    expect(bins[1]?.meanPredicted).toBeCloseTo(0.135, 15)
    expect(bins[1]?.observedRate).toBe(0.5)
    expect(bins[2]).toMatchObject({ count: 0, meanPredicted: null, observedRate: null })
    expect(bins[9]).toMatchObject({ count: 2, observedRate: 0.5 })
    expect(bins[9]?.meanPredicted).toBeCloseTo(0.975, 15)
  })

  test('risk levels use the SPEC §5 bounds', () => {
    const rows = riskLevelTable([0.19, 0.2, 0.5, 0.79, 0.8, 1], [0, 1, 0, 1, 1, 1])
    expect(rows.map((r) => [r.level, r.count, r.stockouts])).toEqual([
      ['low', 1, 0],
      ['medium', 1, 1],
      ['high', 2, 1],
      ['critical', 2, 2],
    ])
    expect(rows[2]?.observedRate).toBe(0.5)
  })

  test('median', () => {
    expect(median([])).toBeNull()
    expect(median([3, 1, 2])).toBe(2)
    expect(median([4, 1, 3, 2])).toBe(2.5)
  })

  test('days of warning: per stockout, from the earliest alert about it', () => {
    // Item 0: predictions on days 1, 2, 3 about the stockout on day 4; the first alert is day 2 → 2.
    // Item 1: day 5 about day 7, no alert → not caught. Item 1: day 8 about day 9, alert → 1.
    // Item 0: day 6, y = 0 → about nothing.
    const input = { item: [0, 0, 0, 1, 1, 0], day: [1, 2, 3, 5, 8, 6], stockoutDay: [4, 4, 4, 7, 9, -1] }
    const w = warningSummary(input, [0.1, 0.6, 0.9, 0.3, 0.5, 0.99], 0.5)
    expect(w).toEqual({ stockouts: 3, caught: 2, medianDays: 1.5, daysHistogram: { '1': 1, '2': 1 } })
  })

  test('curves are thinned for drawing, keeping both ends', () => {
    const points: [number, number][] = Array.from({ length: 1001 }, (_, i) => [i / 1000, i / 1000])
    const thin = thinCurve(points, 0.01)
    expect(thin[0]).toEqual([0, 0])
    expect(thin[thin.length - 1]).toEqual([1, 1])
    expect(thin.length).toBeLessThan(110)
  })
})

describe('scores against an independent Python computation', () => {
  test('random forecasts with many ties', () => {
    let seed = 12345
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648
      return seed / 2147483648
    }
    const n = 400
    const p: number[] = []
    const y: number[] = []
    for (let i = 0; i < n; i++) {
      const v = Math.round(random() * 20) / 20 // 21 distinct values: plenty of ties
      p.push(v)
      y.push(random() < 0.2 + 0.6 * v ? 1 : 0)
    }
    // Written from the definitions alone: pairwise AUC, AP by sorting thresholds, bins by comparing
    // with k/10, no shared code with src/backtest.
    const python = pythonJson<{
      brier: number
      auc: number
      ap: number
      counts: number[]
      means: (number | null)[]
      observed: (number | null)[]
      table: number[]
    }>(
      `
import json, sys
d = json.load(sys.stdin); p, y = d["p"], d["y"]; n = len(p)
brier = sum((a - b) ** 2 for a, b in zip(p, y)) / n
pos = [a for a, b in zip(p, y) if b == 1]; neg = [a for a, b in zip(p, y) if b == 0]
wins = 0.0
for a in pos:
    for b in neg:
        wins += 1.0 if a > b else (0.5 if a == b else 0.0)
auc = wins / (len(pos) * len(neg))
ap, prev = 0.0, 0.0
for t in sorted(set(p), reverse=True):
    tp = sum(1 for a, b in zip(p, y) if a >= t and b == 1)
    fp = sum(1 for a, b in zip(p, y) if a >= t and b == 0)
    r = tp / len(pos)
    ap += (r - prev) * (tp / (tp + fp)); prev = r
counts = [0] * 10; sums = [0.0] * 10; obs = [0] * 10
for a, b in zip(p, y):
    k = 9
    for j in range(10):
        if a < (j + 1) / 10: k = j; break
    counts[k] += 1; sums[k] += a; obs[k] += b
table = [sum(1 for a, b in zip(p, y) if a >= 0.5 and b == 1), sum(1 for a, b in zip(p, y) if a < 0.5 and b == 1),
         sum(1 for a, b in zip(p, y) if a >= 0.5 and b == 0), sum(1 for a, b in zip(p, y) if a < 0.5 and b == 0)]
print(json.dumps({"brier": brier, "auc": auc, "ap": ap, "counts": counts,
  "means": [s / c if c else None for s, c in zip(sums, counts)],
  "observed": [o / c if c else None for o, c in zip(obs, counts)], "table": table}))
`,
      JSON.stringify({ p, y }),
    )
    expect(brierScore(p, y) as number).toBeCloseTo(python.brier, 12)
    expect(rocAuc(p, y) as number).toBeCloseTo(python.auc, 12)
    const steps = thresholdSteps(p, y)
    expect(averagePrecision(precisionRecallCurve(steps)) as number).toBeCloseTo(python.ap, 12)
    const roc = rocCurve(steps).map((r) => ({ x: r.falsePositiveRate, y: r.truePositiveRate }))
    expect(trapezoidArea(roc)).toBeCloseTo(python.auc, 12)
    const bins = calibration(p, y)
    expect(bins.map((b) => b.count)).toEqual(python.counts)
    bins.forEach((b, k) => {
      if (python.means[k] === null) expect(b.meanPredicted).toBeNull()
      else expect(b.meanPredicted as number).toBeCloseTo(python.means[k] as number, 12)
      if (python.observed[k] === null) expect(b.observedRate).toBeNull()
      else expect(b.observedRate as number).toBeCloseTo(python.observed[k] as number, 12)
    })
    const c = contingency(p, y, 0.5)
    expect([c.hits, c.misses, c.falseAlarms, c.correctNegatives]).toEqual(python.table)
  })
})

describe('the window', () => {
  const E = dayOf(Date.UTC(2026, 2, 31))
  test('Nd counts back from the latest event day; dates are inclusive', () => {
    expect(resolveWindow(parseBound('30d', '--since'), parseBound('0d', '--until'), E)).toEqual({
      since: E - 29,
      until: E,
    })
    expect(resolveWindow(parseBound('30d', '--since'), parseBound('7d', '--until'), E)).toEqual({
      since: E - 29,
      until: E - 7,
    })
    const day = dayOf(Date.UTC(2026, 0, 1))
    expect(
      resolveWindow(parseBound('2026-01-01', '--since'), parseBound('2026-01-31', '--until'), E),
    ).toEqual({
      since: day,
      until: day + 30,
    })
  })

  test('bad bounds and empty windows are one-line usage errors', () => {
    expect(() => parseBound('30', '--since')).toThrow('invalid --since "30": expected Nd')
    expect(() => parseBound('2026-02-30', '--until')).toThrow('invalid --until "2026-02-30"')
    expect(() => parseBound('0d', '--since')).toThrow('at least 1d')
    expect(() => resolveWindow(parseBound('3d', '--since'), parseBound('5d', '--until'), 20000)).toThrow(
      'is empty (the data ends 2024-10-04)',
    )
  })
})

function collect(lines: string[], core = DEFAULT_CORE_CONFIG, since = '30d', until = '0d') {
  const collector = new BacktestCollector(core, parseBound(since, '--since'), parseBound(until, '--until'))
  for (const line of lines) {
    const parsed = parseEvent(line)
    if (parsed.ok) collector.process(parsed.event)
  }
  return collector.finish()
}

function generated(extra: string[] = []): string[] {
  const path = join(dir, `gen-${extra.join('_') || 'default'}.jsonl`)
  const generate = ['generate', '--events', '6000', '--skus', '12', '--warehouses', '2', '--days', '60']
  const result = invpipe([...generate, '--output', path, ...extra])
  if (result.code !== 0) throw new Error(result.stderr)
  return readFileSync(path, 'utf8').trim().split('\n')
}

describe('predictions come from the same core as replay', () => {
  test('on a day with events, p is the risk replay reports at the close of that day', () => {
    const lines = generated(['--late-rate', '0', '--duplicate-rate', '0', '--malformed-rate', '0'])
    const events = lines.map((l) => parseEvent(l)).flatMap((r) => (r.ok ? [r.event] : []))
    // Replay's row of an item right after its last event of a day is that day's close.
    const lastOfDay = new Map<string, number>()
    events.forEach((e, i) => {
      lastOfDay.set(`${e.sku}:${e.warehouseId}|${dayOf(e.ts)}`, i)
    })
    const engine = new Engine(DEFAULT_CORE_CONFIG)
    const replayRisk = new Map<string, number | null>()
    events.forEach((e, i) => {
      engine.process(e)
      const slot = `${e.sku}:${e.warehouseId}|${dayOf(e.ts)}`
      const rows = engine.flush(0).rows
      if (lastOfDay.get(slot) === i)
        replayRisk.set(slot, (rows[0] as { stockoutRisk: number | null }).stockoutRisk)
    })
    const data = collect(lines, DEFAULT_CORE_CONFIG, '60d')
    const { predictions: pr } = data
    let compared = 0
    for (let k = 0; k < pr.length; k++) {
      const slot = `${data.itemKeys[pr.item[k] as number]}|${pr.day[k]}`
      if (!replayRisk.has(slot)) continue // a day without events: carried forward, metrics as of that day
      expect(pr.risk[k]).toBe(replayRisk.get(slot) as number)
      compared++
    }
    expect(compared).toBeGreaterThan(300)
  })

  test('the report depends on each item’s own events only, not on how items interleave', () => {
    const lines = generated()
    const byItem = new Map<string, string[]>()
    for (const line of lines) {
      const parsed = parseEvent(line)
      if (!parsed.ok) continue
      const key = `${parsed.event.sku}:${parsed.event.warehouseId}`
      byItem.set(key, [...(byItem.get(key) ?? []), line])
    }
    // Item after item instead of interleaved; each item's own order kept.
    const regrouped = [...byItem.keys()].sort().flatMap((key) => byItem.get(key) as string[])
    const record = (input: string[]) => {
      const data = collect(input)
      const report = reportRecord(
        buildReport(
          data,
          DEFAULT_CORE_CONFIG,
          { kind: 'files', files: [] },
          { read: 0, accepted: 0, rejected: 0, duplicates: 0, rejected_by_code: {} },
        ),
      )
      return { ...report, items: 0 }
    }
    const a = record(lines)
    expect(a.model.n).toBeGreaterThan(500)
    expect(record(regrouped)).toEqual(a)
  })

  test('a late event is in the close of its day only if it arrived before the stream moved on', () => {
    const event = (id: string, type: string, quantity: number, day: number, extra = {}) =>
      JSON.stringify({
        event_id: id,
        event_type: type,
        sku: 'S',
        warehouse_id: 'W',
        quantity,
        timestamp: `2024-01-${String(day).padStart(2, '0')}T12:00:00Z`,
        ...extra,
      })
    const inOrder = [
      event('1', 'stock_count', 10, 1, { lead_time_days: 1 }),
      event('2', 'adjustment', -10, 2),
      event('3', 'restock', 10, 3),
      event('4', 'restock', 1, 5),
    ]
    // The day-2 adjustment arrives after day 3 opened: the close of day 2 still has 10 on hand.
    const late = [inOrder[0], inOrder[2], inOrder[1], inOrder[3]] as string[]
    const closes = (lines: string[]) => {
      const data = collect(lines, DEFAULT_CORE_CONFIG, '5d')
      const day0 = dayOf(Date.UTC(2024, 0, 1)) - 1
      return {
        counts: data.counts,
        days: [...data.predictions.day].map((d) => d - day0),
        outcomes: [...data.predictions.outcome],
      }
    }
    // In order: day 1 (10, y = 1 for day 2), day 2 out of stock, days 3, 4 (10); day 5 left out.
    expect(closes(inOrder)).toEqual({
      counts: { closes: 5, scored: 3, leftOut: 1, onHandUnknown: 0, outOfStock: 1 },
      days: [1, 3, 4],
      outcomes: [1, 0, 0],
    })
    // Late: day 1 (10), day 2 (still 10: the adjustment was not known) → y = 0 because the daily
    // history of day 2 has on-hand 10 after the adjustment (20 − 10); day 3 closes after it (10).
    expect(closes(late)).toEqual({
      counts: { closes: 5, scored: 4, leftOut: 1, onHandUnknown: 0, outOfStock: 0 },
      days: [1, 2, 3, 4],
      outcomes: [0, 0, 0, 0],
    })
  })
})

describe('hand-built fixtures, end to end through the CLI', () => {
  for (const name of ['two_items', 'late_and_carry']) {
    test(`${name}: every figure as worked out in its README`, () => {
      const expected = JSON.parse(readFileSync(join(FIXTURES, name, 'expected.json'), 'utf8'))
      const result = cli([join(FIXTURES, name, 'events.jsonl'), ...expected.args, '--json'])
      expect(result.stderr).toBe('')
      expect(result.code).toBe(0)
      const { args: _, ...rest } = expected
      expectSubset(JSON.parse(result.stdout), rest)
    })
  }

  test('standard input gives the same report as the file; the settings come from the environment too', () => {
    const path = join(FIXTURES, 'late_and_carry', 'events.jsonl')
    const fromFile = JSON.parse(cli([path, '--since', '2024-05-02', '--until', '1d', '--json']).stdout)
    const fromStdin = JSON.parse(
      cli(['-', '--since', '2024-05-02', '--until', '1d', '--json'], {
        stdin: readFileSync(path, 'utf8'),
        env: { LEAD_TIME_DAYS: '2' },
      }).stdout,
    )
    expect(fromStdin.model).toEqual(
      JSON.parse(
        cli([path, '--since', '2024-05-02', '--until', '1d', '--lead-time-days', '2', '--json']).stdout,
      ).model,
    )
    expect(fromStdin.source.files).toEqual(['stdin'])
    expect(fromFile.settings.lead_time_days).toBe(7)
    // The environment's setting was taken: a lead time of 2 days, and another model than at 7.
    expect(fromStdin.settings.lead_time_days).toBe(2)
    expect(fromStdin.model).not.toEqual(fromFile.model)
  })

  test('JSONL and Parquet files of the same events give the same report', () => {
    const generate = ['generate', '--events', '5000', '--skus', '10', '--warehouses', '2', '--days', '40']
    const make = (output: string) => invpipe([...generate, '--output', join(dir, output)]).code
    expect(make('same.jsonl')).toBe(0)
    expect(make('same.parquet')).toBe(0)
    const jsonl = JSON.parse(cli(['same.jsonl', '--json']).stdout)
    const parquet = JSON.parse(cli(['same.parquet', '--json']).stdout)
    expect(jsonl.model.n).toBeGreaterThan(100)
    expect({ ...parquet, source: null }).toEqual({ ...jsonl, source: null })
  })

  test('the alert threshold moves the contingency table: at 0.3 the four risks above it alert', () => {
    // two_items/README.md: only A7 reaches 0.5; A7, B7, A4 and A6 (all followed by a stockout) reach 0.3.
    const result = cli([join(FIXTURES, 'two_items', 'events.jsonl'), '--since', '10d', '--json'], {
      env: { ALERT_THRESHOLD: '0.3' },
    })
    const alerts = JSON.parse(result.stdout).model.alerts
    expect([alerts.hits, alerts.misses, alerts.false_alarms, alerts.correct_negatives]).toEqual([4, 2, 0, 3])
  })

  test('the terminal table and the HTML page', () => {
    const html = join(dir, 'report.html')
    const result = cli([join(FIXTURES, 'two_items', 'events.jsonl'), '--since', '10d', '--html', html])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain('backtest     2024-03-01 … 2024-03-10 (10 days), data ends 2024-03-10')
    expect(result.stdout).toMatch(/ROC AUC\s+0\.833\s+0\.750/)
    expect(result.stdout).toMatch(/median days of warning\s+1\.0\s+1\.0/)
    const page = readFileSync(html, 'utf8')
    expect(page).toStartWith('<!doctype html>')
    for (const id of ['reliability-diagram', 'roc-curve', 'pr-curve'])
      expect(page).toContain(`<svg id="${id}"`)
  })
})

test('the verdict leads the terminal report; JSON and the page carry the verdict, segments and missed stockouts', () => {
  // Only the shape: the figures follow the risk formula, which the fixtures' READMEs work out.
  const fixture = join(FIXTURES, 'two_items', 'events.jsonl')
  const html = join(dir, 'verdict.html')
  const terminal = cli([fixture, '--since', '10d', '--html', html])
  expect(terminal.code).toBe(0)
  expect(terminal.stdout.split('\n')[0]).toMatch(/^verdict {6}.*ECE \d\.\d{3}.*; Brier skill/)
  expect(terminal.stdout).toMatch(/^expected calibration error\s+\d\.\d{3}\s+\d\.\d{3}$/m)
  expect(terminal.stdout).toMatch(/^segments {5}/m)
  expect(terminal.stdout).toMatch(/^missed stockouts: \d+ of \d+ stockouts had no alert/m)
  const record = JSON.parse(cli([fixture, '--since', '10d', '--json']).stdout)
  expect(Object.keys(record.verdict)).toEqual(['text', 'calibration', 'skill', 'rule', 'miscalibrated'])
  expect(typeof record.model.ece).toBe('number')
  expect(typeof record.baseline.ece).toBe('number')
  expect(Object.keys(record.segments)).toEqual([
    'fast',
    'slow',
    'intermittent',
    'with_purchase_orders',
    'without_purchase_orders',
  ])
  // Every item-day falls in one demand class and in one of with / without purchase orders.
  const n = (name: string) => record.segments[name].n as number
  expect(n('fast') + n('slow') + n('intermittent')).toBe(record.model.n)
  expect(n('with_purchase_orders') + n('without_purchase_orders')).toBe(record.model.n)
  const missed = record.missed_stockouts
  expect(missed.total).toBe(record.model.warning.stockouts - record.model.warning.caught)
  expect(missed.stockouts).toHaveLength(missed.listed)
  const page = readFileSync(html, 'utf8')
  expect(page.indexOf('id="verdict"')).toBeLessThan(page.indexOf('<h2>'))
  expect(page).toContain('The model per segment of items')
  expect(page).toContain('<p id="missed">')
})

describe('usage errors are one line, exit status 2', () => {
  test('no file and PostgreSQL unreachable: one line naming the database, exit 1', () => {
    const result = cli([], { env: { POSTGRES_PORT: '1', POSTGRES_USER: 'planner' } })
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split('\n')).toHaveLength(1)
    expect(result.stderr).toContain('invpipe: PostgreSQL planner@localhost:1/inventory: connect ECONNREFUSED')
  })

  test('bad --since, empty window, bad setting, missing file, no events, missing --html directory', () => {
    const fixture = join(FIXTURES, 'two_items', 'events.jsonl')
    const cases: [string[], string][] = [
      [[fixture, '--since', 'last week'], 'invpipe: invalid --since "last week": expected Nd'],
      [[fixture, '--since', '2030-01-01'], 'invpipe: the window 2030-01-01 … 2024-03-10 is empty'],
      [[fixture, '--alert-threshold', '2'], 'invpipe: invalid ALERT_THRESHOLD="2" (from --alert-threshold)'],
      [['missing.jsonl'], 'invpipe: missing.jsonl: cannot read (ENOENT)'],
      [[fixture, '--html', join(dir, 'no/such/dir/page.html')], 'does not exist'],
    ]
    for (const [args, message] of cases) {
      const result = cli(args)
      expect(result.code).toBe(2)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(result.stderr).toContain(message)
    }
    // Events early in 2000: 30 days back from them reaches into 1999, which no event can be in.
    const early = join(dir, 'early.jsonl')
    writeFileSync(
      early,
      `${JSON.stringify({ event_id: 'e', event_type: 'stock_count', sku: 'S', warehouse_id: 'W', quantity: 3, timestamp: '2000-01-05T00:00:00Z' })}\n`,
    )
    const before2000 = cli([early, '--since', '30d'])
    expect(before2000.code).toBe(2)
    expect(before2000.stderr.trim()).toBe(
      'invpipe: the window 1999-12-07 … 2000-01-05 reaches outside 2000-01-01 … 2099-12-31, the years events can have',
    )
    writeFileSync(join(dir, 'junk.jsonl'), 'not json\n')
    const empty = cli([join(dir, 'junk.jsonl')])
    expect(empty.code).toBe(2)
    expect(empty.stderr.trim()).toBe('invpipe: no accepted events in the input: nothing to backtest')
  })
})

test('HTML escapes what came from the user', () => {
  const data = collect([
    JSON.stringify({
      event_id: '1',
      event_type: 'stock_count',
      sku: 'S',
      warehouse_id: 'W',
      quantity: 5,
      timestamp: '2024-01-01T00:00:00Z',
    }),
  ])
  const report = buildReport(
    data,
    DEFAULT_CORE_CONFIG,
    { kind: 'files', files: ['<script>alert(1)</script>.jsonl'] },
    { read: 1, accepted: 1, rejected: 0, duplicates: 0, rejected_by_code: {} },
  )
  const page = renderHtml(report)
  expect(page).not.toContain('<script>')
  expect(page).toContain('&lt;script&gt;')
})
