// The `--html` page: one self-contained file (inline CSS and SVG, no script, no external resource),
// readable offline and printable, with the reliability diagram, the ROC curve and the
// precision-recall curve drawn as inline SVG, and every figure of the terminal report: the verdict
// at the top, a line on how to read each score, the segments and the missed stockouts. Pure.
import { formatDay } from '../core/time.ts'
import {
  BASELINE_RULE,
  type BacktestReport,
  eventWords,
  MISSED_HEADER,
  MISSED_ON_PAGE,
  missedHeading,
  prPoints,
  reportNotes,
  rocPoints,
  sourceWords,
  thinCurve,
  VERDICT_RULE,
} from './report.ts'
import type { ForecastScores } from './scores.ts'
import { SEGMENT_RULE } from './segments.ts'
import { calibrationRows, figureRows, fixed, missedRows, riskLevelRows, segmentRows } from './tables.ts'

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;')
}

const MODEL = '#1f5fa8'
const BASELINE = '#c2571a'
const NEUTRAL = '#888888'

// Geometry of every chart: a unit square plotted in a PLOT×PLOT box.
const PLOT = 320
const LEFT = 56
const TOP = 16
const WIDTH = LEFT + PLOT + 24
/** Below the plot: tick labels, the x-axis label, then the legend (outside the data, never over it). */
const AXIS_BOTTOM = TOP + PLOT + 40
const LEGEND_ROW = 17
/** The height of a chart whose legend has `rows` entries. */
const heightFor = (rows: number) => AXIS_BOTTOM + rows * LEGEND_ROW + 8

const sx = (x: number) => (LEFT + x * PLOT).toFixed(1)
const sy = (y: number) => (TOP + (1 - y) * PLOT).toFixed(1)
const polyline = (points: readonly [number, number][]) =>
  points.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' ')

interface ChartParts {
  id: string
  title: string
  description: string
  xLabel: string
  yLabel: string
  /** SVG elements drawn inside the plot area. */
  body: string[]
  legend: LegendItem[]
}

/**
 * A legend entry: a line (a curve, dashed for a reference), or a marker as the chart draws its
 * operating points: `point` filled (the baseline's one yes/no rule), `ring` hollow (the model at
 * the configured alert threshold).
 */
interface LegendItem {
  color: string
  label: string
  dashed?: boolean
  marker?: 'point' | 'ring'
}

function legendSymbol(item: LegendItem): string {
  if (item.marker === 'point') return `<circle cx="11" cy="-4" r="5" fill="${item.color}"/>`
  if (item.marker === 'ring')
    return `<circle cx="11" cy="-4" r="5" fill="none" stroke="${item.color}" stroke-width="2"/>`
  return `<line x1="0" y1="-4" x2="22" y2="-4" stroke="${item.color}" stroke-width="2.5"${item.dashed ? ' stroke-dasharray="5 4"' : ''}/>`
}

function chart(parts: ChartParts): string {
  const ticks = [0, 0.2, 0.4, 0.6, 0.8, 1]
  const grid = ticks.flatMap((t) => [
    `<line class="grid" x1="${sx(t)}" y1="${sy(0)}" x2="${sx(t)}" y2="${sy(1)}"/>`,
    `<line class="grid" x1="${sx(0)}" y1="${sy(t)}" x2="${sx(1)}" y2="${sy(t)}"/>`,
    `<text class="tick" x="${sx(t)}" y="${(TOP + PLOT + 16).toFixed(1)}" text-anchor="middle">${t.toFixed(1)}</text>`,
    `<text class="tick" x="${LEFT - 6}" y="${(Number(sy(t)) + 4).toFixed(1)}" text-anchor="end">${t.toFixed(1)}</text>`,
  ])
  const legend = parts.legend.map(
    (item, k) =>
      `<g class="legend-item" transform="translate(${LEFT},${AXIS_BOTTOM + 14 + LEGEND_ROW * k})">` +
      legendSymbol(item) +
      `<text class="legend" x="30" y="0">${escapeHtml(item.label)}</text></g>`,
  )
  const height = heightFor(parts.legend.length)
  return [
    `<svg id="${parts.id}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="${parts.id}-title ${parts.id}-desc">`,
    `<title id="${parts.id}-title">${escapeHtml(parts.title)}</title>`,
    `<desc id="${parts.id}-desc">${escapeHtml(parts.description)}</desc>`,
    `<rect x="${LEFT}" y="${TOP}" width="${PLOT}" height="${PLOT}" fill="#ffffff" stroke="#444444"/>`,
    ...grid,
    ...parts.body,
    ...legend,
    `<text class="axis" x="${sx(0.5)}" y="${AXIS_BOTTOM - 4}" text-anchor="middle">${escapeHtml(parts.xLabel)}</text>`,
    `<text class="axis" transform="translate(14,${sy(0.5)}) rotate(-90)" text-anchor="middle">${escapeHtml(parts.yLabel)}</text>`,
    '</svg>',
  ].join('\n')
}

const diagonal = (label: string) =>
  `<line class="reference" x1="${sx(0)}" y1="${sy(0)}" x2="${sx(1)}" y2="${sy(1)}"><title>${label}</title></line>`

function reliabilityDiagram(model: ForecastScores, baseline: ForecastScores): string {
  const points = (scores: ForecastScores, color: string, shape: 'circle' | 'square', who: string) => {
    const bins = scores.calibration.filter((b) => b.count > 0)
    const largest = Math.max(1, ...bins.map((b) => b.count))
    return bins.map((b) => {
      const r = 3 + 6 * Math.sqrt(b.count / largest)
      const x = sx(b.meanPredicted as number)
      const y = sy(b.observedRate as number)
      const tip = `<title>${who}, p ${b.lower.toFixed(1)}–${b.upper.toFixed(1)}: ${b.count} predictions, mean p ${fixed(b.meanPredicted)}, observed ${fixed(b.observedRate)}</title>`
      return shape === 'circle'
        ? `<circle class="bin" cx="${x}" cy="${y}" r="${r.toFixed(1)}" fill="${color}" fill-opacity="0.75">${tip}</circle>`
        : `<rect class="bin" x="${(Number(x) - r).toFixed(1)}" y="${(Number(y) - r).toFixed(1)}" width="${(2 * r).toFixed(1)}" height="${(2 * r).toFixed(1)}" fill="${color}" fill-opacity="0.6">${tip}</rect>`
    })
  }
  const modelLine = model.calibration
    .filter((b) => b.count > 0)
    .map((b) => [b.meanPredicted as number, b.observedRate as number] as [number, number])
  return chart({
    id: 'reliability-diagram',
    title: 'Reliability diagram',
    description:
      'For each tenth of predicted stockout risk: the mean predicted risk (x) against the share of those predictions followed by a stockout (y). Points on the diagonal are perfectly calibrated; marker area grows with the number of predictions.',
    xLabel: 'mean predicted stockout risk',
    yLabel: 'observed stockout rate',
    body: [
      diagonal('perfect calibration'),
      modelLine.length > 1
        ? `<polyline class="series" points="${polyline(modelLine)}" stroke="${MODEL}"/>`
        : '',
      ...points(model, MODEL, 'circle', 'model'),
      ...points(baseline, BASELINE, 'square', 'baseline'),
    ],
    legend: [
      { color: MODEL, label: 'model (bins of p)' },
      { color: BASELINE, label: 'naive baseline' },
      { color: NEUTRAL, label: 'perfect calibration', dashed: true },
    ],
  })
}

function rocChart(model: ForecastScores, baseline: ForecastScores): string {
  const body = [diagonal('no skill (chance)')]
  const modelCurve = thinCurve(rocPoints(model))
  if (modelCurve.length > 0)
    body.push(`<polyline class="series" id="roc-model" points="${polyline(modelCurve)}" stroke="${MODEL}"/>`)
  const b = baseline.contingency
  if (b.pod !== null && b.pofd !== null) {
    body.push(
      `<polyline class="series" points="${polyline([
        [0, 0],
        [b.pofd, b.pod],
        [1, 1],
      ])}" stroke="${BASELINE}"/>`,
      `<circle cx="${sx(b.pofd)}" cy="${sy(b.pod)}" r="5" fill="${BASELINE}"><title>baseline: false-positive rate ${fixed(b.pofd)}, true-positive rate ${fixed(b.pod)}</title></circle>`,
    )
  }
  const m = model.contingency
  if (m.pod !== null && m.pofd !== null)
    body.push(
      `<circle cx="${sx(m.pofd)}" cy="${sy(m.pod)}" r="5" fill="none" stroke="${MODEL}" stroke-width="2"><title>model at the alert threshold ${m.threshold}: false-positive rate ${fixed(m.pofd)}, true-positive rate ${fixed(m.pod)}</title></circle>`,
    )
  return chart({
    id: 'roc-curve',
    title: 'ROC curve',
    description:
      'True-positive rate (stockouts alerted) against false-positive rate (non-stockouts alerted) as the alert threshold runs from 1 down to 0. The circle marks the configured alert threshold.',
    xLabel: 'false-positive rate (POFD)',
    yLabel: 'true-positive rate (POD)',
    body,
    legend: [
      { color: MODEL, label: `model, AUC ${fixed(model.rocAuc)}` },
      { color: BASELINE, label: `baseline, AUC ${fixed(baseline.rocAuc)}` },
      { color: NEUTRAL, label: 'chance', dashed: true },
      ...operatingPoints(model),
    ],
  })
}

/** The legend of the operating points the ROC and precision-recall charts mark. */
function operatingPoints(model: ForecastScores): LegendItem[] {
  return [
    {
      color: MODEL,
      label: `model alerting at stockout_risk ≥ ${model.contingency.threshold}`,
      marker: 'ring',
    },
    { color: BASELINE, label: 'naive baseline (its one yes/no rule)', marker: 'point' },
  ]
}

/** A step curve whose area is the average precision: precision Pₖ over recall (Rₖ₋₁, Rₖ]. */
function prSteps(points: readonly [number, number][]): [number, number][] {
  const steps: [number, number][] = []
  let previousRecall = 0
  for (const [recall, precision] of points) {
    steps.push([previousRecall, precision], [recall, precision])
    previousRecall = recall
  }
  return steps
}

function prChart(model: ForecastScores, baseline: ForecastScores): string {
  const body: string[] = []
  if (model.baseRate !== null)
    body.push(
      `<line class="reference" x1="${sx(0)}" y1="${sy(model.baseRate)}" x2="${sx(1)}" y2="${sy(model.baseRate)}"><title>no skill: precision = base rate ${fixed(model.baseRate)}</title></line>`,
    )
  const curve = thinCurve(prSteps(prPoints(model)))
  if (curve.length > 0)
    body.push(`<polyline class="series" id="pr-model" points="${polyline(curve)}" stroke="${MODEL}"/>`)
  const b = baseline.contingency
  if (b.recall !== null && b.precision !== null)
    body.push(
      `<circle cx="${sx(b.recall)}" cy="${sy(b.precision)}" r="5" fill="${BASELINE}"><title>baseline: recall ${fixed(b.recall)}, precision ${fixed(b.precision)}</title></circle>`,
    )
  const m = model.contingency
  if (m.recall !== null && m.precision !== null)
    body.push(
      `<circle cx="${sx(m.recall)}" cy="${sy(m.precision)}" r="5" fill="none" stroke="${MODEL}" stroke-width="2"><title>model at the alert threshold ${m.threshold}: recall ${fixed(m.recall)}, precision ${fixed(m.precision)}</title></circle>`,
    )
  return chart({
    id: 'pr-curve',
    title: 'Precision-recall curve',
    description:
      'Precision (share of alerts followed by a stockout) against recall (share of stockouts alerted) as the alert threshold runs from 1 down to 0; the area under the steps is the average precision. Useful when stockouts are rare.',
    xLabel: 'recall (POD)',
    yLabel: 'precision',
    body,
    legend: [
      { color: MODEL, label: `model, AP ${fixed(model.averagePrecision)}` },
      { color: NEUTRAL, label: 'base rate (no skill)', dashed: true },
      ...operatingPoints(model),
    ],
  })
}

export function htmlTable(header: string[], rows: string[][], caption?: string): string {
  const head = header.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')
  const body = rows
    .map(
      (cells) =>
        `<tr>${cells.map((c, i) => (i === 0 ? `<th scope="row">${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`,
    )
    .join('\n')
  return `<table>${caption ? `<caption>${escapeHtml(caption)}</caption>` : ''}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`
}

/** The pages' common style (the backtest page and `invpipe item`'s). */
export const STYLE = `
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1a1a1a; max-width: 1180px; margin: 2em auto; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta { color: #555; }
.verdict { font-size: 1.1em; border-left: 4px solid ${MODEL}; padding: 0.4em 0.9em; background: #eef4fb; }
.note { border-left: 4px solid #c2571a; padding: 0.3em 0.8em; background: #fdf3ec; }
.charts { display: flex; flex-wrap: wrap; gap: 1.5em; }
figure { margin: 0; } figcaption { max-width: ${WIDTH}px; font-size: 0.88em; color: #444; }
svg.chart { max-width: 100%; height: auto; }
svg .grid { stroke: #e6e6e6; stroke-width: 1; }
svg .reference { stroke: ${NEUTRAL}; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .series { fill: none; stroke-width: 2.5; stroke-linejoin: round; }
svg .tick { font-size: 11px; fill: #444; } svg .axis { font-size: 13px; fill: #222; } svg .legend { font-size: 12px; fill: #222; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3em; }
th, td { border: 1px solid #d4d4d4; padding: 0.25em 0.7em; } td { text-align: right; } thead th { background: #f3f3f3; }
tbody th { text-align: left; font-weight: normal; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3em 1em; } dt { font-weight: 600; } dd { margin: 0; }
@media print { .charts { break-inside: avoid; } }
`

/** The whole page. */
export function renderHtml(report: BacktestReport): string {
  const { model, baseline, counts: c, config } = report
  const since = formatDay(report.window.since)
  const until = formatDay(report.window.until)
  const days = report.window.until - report.window.since + 1
  const summary = htmlTable(
    ['', 'model (stockout_risk)', `naive baseline (${BASELINE_RULE})`],
    figureRows(model, baseline, [
      ['predictions scored (n)', 'n'],
      ['followed by a stockout (y = 1)', 'stockouts'],
      ['base rate', 'baseRate'],
      ['Brier score (0 is perfect)', 'brier'],
      ['Brier skill score vs. base rate (> 0 beats it)', 'brierSkillScore'],
      ['ROC AUC (0.5 is chance)', 'rocAuc'],
      ['expected calibration error (0 is perfect)', 'ece'],
      ['average precision (base rate is no skill)', 'averagePrecision'],
      ['stockouts caught by an alert', 'caught'],
      ['median days of warning', 'medianWarningDays'],
    ]),
    'Scores',
  )
  const alerts = htmlTable(
    ['', 'model', 'naive baseline'],
    [
      ['alert rule', `stockout_risk ≥ ${config.alertThreshold}`, BASELINE_RULE],
      ...figureRows(model, baseline, [
        ['hits (alert, stockout)', 'hits'],
        ['misses (no alert, stockout)', 'misses'],
        ['false alarms (alert, no stockout)', 'falseAlarms'],
        ['correct negatives', 'correctNegatives'],
        ['probability of detection (POD = recall)', 'pod'],
        ['false-alarm ratio (FAR = 1 − precision)', 'far'],
        ['precision', 'precision'],
        ['recall', 'recall'],
        ['F1', 'f1'],
      ]),
    ],
    `Alerts at ALERT_THRESHOLD = ${config.alertThreshold}`,
  )
  const calibration = htmlTable(
    ['predicted risk', 'count', 'mean predicted', 'observed rate', 'baseline count', 'baseline observed'],
    calibrationRows(
      model,
      baseline,
      (bin, last) => `[${bin.lower.toFixed(1)}, ${bin.upper.toFixed(1)}${last ? ']' : ')'}`,
    ),
    'Calibration (10 bins of predicted risk)',
  )
  const levels = htmlTable(
    ['risk level', 'count', 'stockouts', 'observed rate', 'baseline count', 'baseline observed'],
    riskLevelRows(model, baseline),
    'Risk levels (critical ≥ 0.8 > high ≥ 0.5 > medium ≥ 0.2 > low; the baseline is low or critical)',
  )
  const segments = htmlTable(
    ['segment', 'predictions', 'stockouts', 'base rate', 'Brier skill', 'calibration error', 'ROC AUC'],
    segmentRows(report.segments),
    'The model per segment of items',
  )
  const missed =
    report.missed.length === 0
      ? ''
      : htmlTable(
          MISSED_HEADER.map((h) => (h === 'predictions' ? 'predictions about it' : h)),
          missedRows(report.missed.slice(0, MISSED_ON_PAGE)),
        )
  const events = eventWords(report)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>invpipe backtest ${since} … ${until}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>How good were the stockout-risk predictions?</h1>
<p class="verdict" id="verdict"><strong>Verdict:</strong> ${escapeHtml(report.verdict.text)}.</p>
<p class="meta">invpipe backtest of <code>${escapeHtml(sourceWords(report))}</code>: predictions made at the close of each day ${since} … ${until}
(${days} day${days === 1 ? '' : 's'}); the data end ${formatDay(report.endDay)}.
${report.items} items${events === null ? '' : `; events ${escapeHtml(events)}`}.</p>

<h2>What was scored</h2>
<dl>
<dt>prediction</dt><dd>for each item and each day t of the window whose closing stock was known and above 0: the
stockout risk the pipeline computes (README: “The risk, in a planner's words”) from the item's state at the close of t, as of day t.</dd>
<dt>outcome</dt><dd>1 when the item stocked out (stock ≤ 0 after an event, or a closing stock ≤ 0 carried over a
day without events) on some day after t, up to t + the lead time in days (rounded up); else 0.</dd>
<dt>item-days</dt><dd>${c.closes} in the window: ${c.scored} scored; ${c.leftOut} left out because their lead time runs
past the end of the data; ${c.onHandUnknown} with stock unknown and ${c.outOfStock} already out of stock (no prediction).</dd>
<dt>baseline</dt><dd>predicts a stockout (1) when stock on hand &lt; 30-day velocity × lead time, else none (0).</dd>
<dt>settings</dt><dd>alert threshold ${config.alertThreshold}; default lead time ${config.leadTimeDays} days (an event's
<code>lead_time_days</code> overrides it); service level ${config.serviceLevel}.</dd>
</dl>

${reportNotes(report)
  .map((note) => `<p class="note">${escapeHtml(note)}</p>`)
  .join('\n')}
${summary}
<dl class="explain">
<dt>Brier skill</dt><dd>how much smaller the squared error of the risk is than that of always saying the base rate
(1 − Brier score / base rate × (1 − base rate)): 0 is no better than the base rate, 1 is perfect, below 0 is worse.</dd>
<dt>ROC AUC</dt><dd>the chance that an item-day followed by a stockout got a higher risk than one that was not: 0.5 is
a coin toss, 1 a perfect ranking. It says nothing about whether the risk is the right size.</dd>
<dt>calibration error</dt><dd>ECE: over the 10 bins of predicted risk, the gap between the mean predicted risk and the
share that stocked out, averaged with the bins' predictions as weights: 0.05 means the risk is off by 5 points on average.</dd>
<dt>verdict</dt><dd>${escapeHtml(VERDICT_RULE)}.</dd>
</dl>

<h2>Charts</h2>
<div class="charts">
<figure>${reliabilityDiagram(model, baseline)}
<figcaption>Reliability diagram: predictions are grouped by predicted risk; a well-calibrated model's points lie on the
dashed diagonal. Points below it mean the risk was overstated, above it understated.</figcaption></figure>
<figure>${rocChart(model, baseline)}
<figcaption>ROC curve: how well the risk ranks the item-days that stocked out above those that did not, over every
threshold. The baseline is a single yes/no rule, hence one point (filled); the ring is the model's operating point at
the alert threshold.</figcaption></figure>
<figure>${prChart(model, baseline)}
<figcaption>Precision-recall curve: of the alerts raised at a threshold, the share that were followed by a stockout,
against the share of stockouts alerted. The dashed line is the base rate (alerting at random); the ring and the filled
point are the operating points of the model at the alert threshold and of the baseline.</figcaption></figure>
</div>

<h2>Alerts</h2>
${alerts}
<p>A stockout counted under “caught” is an item's first stockout day after a scored prediction; it is caught when at
least one scored prediction about it raised an alert. Days of warning = the stockout day − the day of the earliest such alert.</p>

<h2>Calibration and risk levels</h2>
${calibration}
${levels}

<h2>Segments</h2>
${segments}
<p>${escapeHtml(SEGMENT_RULE)}; each item-day is classified from the item's state at that close.</p>

<h2>Missed stockouts</h2>
<p id="missed">${escapeHtml(missedHeading(report, MISSED_ON_PAGE))}. Highest risk: the highest risk predicted about
the stockout (on the day given); on hand: at the close of the latest prediction before it.</p>
${missed}
</body>
</html>
`
}
