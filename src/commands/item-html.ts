// `invpipe item --html`: one self-contained page (inline CSS and SVG, no script, opens offline) with
// the item's days as a chart, in the backtest page's style: sales and receipts as bars, the closing
// stock as a line, days out of stock shaded; under it the risk at each close with the alert
// threshold and every alert message marked; then the table and the messages in words. Pure.
import { escapeHtml, htmlTable, STYLE } from '../backtest/html.ts'
import type { AlertStatus } from '../core/alerts.ts'
import type { CoreConfig } from '../core/config.ts'
import { formatDay } from '../core/time.ts'
import { dayCells, HISTORY_ALERTS, type ItemDay, type ItemStory, storyCounts } from './item-story.ts'

const STOCK = '#1f5fa8'
const SOLD = '#9a9a9a'
const RECEIVED = '#2e8b57'
const RISK = '#c2571a'
const OUT = '#f6d5d5'
const STATUS_COLORS: Record<AlertStatus, string> = {
  raised: '#c0392b',
  escalated: '#7b1010',
  reminder: '#d98c1f',
  resolved: '#2e8b57',
}

const LEFT = 64
const RIGHT = 24
const PLOT_W = 820
const WIDTH = LEFT + PLOT_W + RIGHT
const STOCK_TOP = 16
const STOCK_H = 240
const RISK_TOP = STOCK_TOP + STOCK_H + 36
const RISK_H = 130
const AXIS_Y = RISK_TOP + RISK_H + 18
const LEGEND_TOP = AXIS_Y + 30
const LEGEND_ROW = 18

interface LegendEntry {
  label: string
  symbol: string
}

const bar = (color: string) => `<rect x="4" y="-11" width="14" height="10" fill="${color}"/>`
const lineSymbol = (color: string, dashed = false) =>
  `<line x1="0" y1="-5" x2="22" y2="-5" stroke="${color}" stroke-width="2.5"${dashed ? ' stroke-dasharray="5 4"' : ''}/>`
const dot = (color: string) => `<circle cx="11" cy="-5" r="5" fill="${color}"/>`

/** Round steps for an axis from 0 (or below) to `max`. */
function ticks(min: number, max: number, count = 5): number[] {
  const span = max - min || 1
  const raw = span / count
  const magnitude = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude
  const result: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) result.push(Number(t.toFixed(10)))
  return result
}

export function itemChart(story: ItemStory, config: CoreConfig): string {
  const days = story.days
  const first = (days[0] as ItemDay).day
  const count = (days.at(-1) as ItemDay).day - first + 1
  const step = PLOT_W / count
  const cx = (day: number) => LEFT + (day - first + 0.5) * step
  const closes = days.filter((d) => !d.quiet && d.closingOnHand !== null)
  const values = [
    0,
    ...closes.map((d) => d.closingOnHand as number),
    ...days.map((d) => Math.max(d.sold, d.received)),
  ]
  const yMin = Math.min(...values)
  const yMax = Math.max(...values, 1) * 1.08
  const sy = (v: number) => STOCK_TOP + ((yMax - v) / (yMax - yMin)) * STOCK_H
  const ry = (risk: number) => RISK_TOP + (1 - risk) * RISK_H
  const f = (n: number) => n.toFixed(1)
  const barWidth = Math.max(1, step * 0.38)
  const parts: string[] = []

  // Panels and grid.
  parts.push(
    `<rect x="${LEFT}" y="${STOCK_TOP}" width="${PLOT_W}" height="${STOCK_H}" fill="#ffffff" stroke="#444444"/>`,
    `<rect x="${LEFT}" y="${RISK_TOP}" width="${PLOT_W}" height="${RISK_H}" fill="#ffffff" stroke="#444444"/>`,
  )
  for (const day of days.filter((d) => d.stockout))
    parts.push(
      `<rect x="${f(cx(day.day) - step / 2)}" y="${STOCK_TOP}" width="${f(step)}" height="${STOCK_H}" fill="${OUT}"><title>${formatDay(day.day)}: out of stock</title></rect>`,
    )
  for (const t of ticks(yMin, yMax))
    parts.push(
      `<line class="grid" x1="${LEFT}" y1="${f(sy(t))}" x2="${LEFT + PLOT_W}" y2="${f(sy(t))}"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${f(sy(t) + 4)}" text-anchor="end">${t}</text>`,
    )
  for (const t of [0, 0.25, 0.5, 0.75, 1])
    parts.push(
      `<line class="grid" x1="${LEFT}" y1="${f(ry(t))}" x2="${LEFT + PLOT_W}" y2="${f(ry(t))}"/>`,
      `<text class="tick" x="${LEFT - 6}" y="${f(ry(t) + 4)}" text-anchor="end">${t}</text>`,
    )
  const labelEvery = Math.max(1, Math.ceil(count / 10))
  for (let d = first; d < first + count; d += labelEvery)
    parts.push(
      `<line class="grid" x1="${f(cx(d))}" y1="${STOCK_TOP}" x2="${f(cx(d))}" y2="${RISK_TOP + RISK_H}"/>`,
      `<text class="tick" x="${f(cx(d))}" y="${AXIS_Y}" text-anchor="middle">${formatDay(d).slice(5)}</text>`,
    )
  if (yMin < 0)
    parts.push(
      `<line class="reference" x1="${LEFT}" y1="${f(sy(0))}" x2="${LEFT + PLOT_W}" y2="${f(sy(0))}"><title>no stock</title></line>`,
    )

  // Sales and receipts, then the closing stock over them.
  for (const day of days) {
    if (day.sold > 0)
      parts.push(
        `<rect x="${f(cx(day.day) - barWidth)}" y="${f(sy(day.sold))}" width="${f(barWidth)}" height="${f(sy(0) - sy(day.sold))}" fill="${SOLD}"><title>${formatDay(day.day)}: sold ${day.sold}</title></rect>`,
      )
    if (day.received > 0)
      parts.push(
        `<rect x="${f(cx(day.day))}" y="${f(sy(day.received))}" width="${f(barWidth)}" height="${f(sy(0) - sy(day.received))}" fill="${RECEIVED}"><title>${formatDay(day.day)}: received ${day.received}</title></rect>`,
      )
  }
  // A step line: a day's closing stock holds until the next day with events.
  const steps = closes.flatMap((d, i) => {
    const point = `${f(cx(d.day))},${f(sy(d.closingOnHand as number))}`
    const previous = closes[i - 1]
    return previous === undefined
      ? [point]
      : [`${f(cx(d.day))},${f(sy(previous.closingOnHand as number))}`, point]
  })
  if (closes.length > 0)
    parts.push(
      `<polyline class="series" stroke="${STOCK}" points="${steps.join(' ')}"><title>closing stock</title></polyline>`,
      ...closes.map(
        (d) =>
          `<circle cx="${f(cx(d.day))}" cy="${f(sy(d.closingOnHand as number))}" r="2.5" fill="${STOCK}"><title>${formatDay(d.day)}: closed with ${d.closingOnHand}</title></circle>`,
      ),
    )

  // The risk at each close, the alert threshold, the messages.
  const risks = days.filter((d) => d.row?.stockoutRisk != null)
  parts.push(
    `<line class="reference" x1="${LEFT}" y1="${f(ry(config.alertThreshold))}" x2="${LEFT + PLOT_W}" y2="${f(ry(config.alertThreshold))}"><title>alert threshold ${config.alertThreshold}</title></line>`,
  )
  if (risks.length > 0)
    parts.push(
      `<polyline class="series" stroke="${RISK}" points="${risks.map((d) => `${f(cx(d.day))},${f(ry(d.row?.stockoutRisk as number))}`).join(' ')}"><title>stockout risk at the close</title></polyline>`,
    )
  for (const day of days)
    day.alerts.forEach((alert, k) => {
      parts.push(
        `<circle class="alert" cx="${f(cx(day.day) + k * 4)}" cy="${f(ry(alert.stockoutRisk))}" r="5" fill="${STATUS_COLORS[alert.status]}" stroke="#ffffff"><title>${formatDay(day.day)}: ${alert.status}, risk ${alert.stockoutRisk.toFixed(3)}: ${escapeHtml(alert.reason)}</title></circle>`,
      )
    })

  const legend: LegendEntry[] = [
    { label: 'units sold that day', symbol: bar(SOLD) },
    { label: 'units received that day', symbol: bar(RECEIVED) },
    { label: 'closing stock', symbol: lineSymbol(STOCK) },
    { label: 'out of stock that day', symbol: bar(OUT) },
    { label: 'stockout risk at the close (lower panel, 0–1)', symbol: lineSymbol(RISK) },
    { label: `alert threshold (${config.alertThreshold})`, symbol: lineSymbol('#888888', true) },
    ...(Object.keys(STATUS_COLORS) as AlertStatus[]).map((status) => ({
      label: `alert message: ${status}`,
      symbol: dot(STATUS_COLORS[status]),
    })),
  ]
  const columns = 2
  legend.forEach((entry, i) => {
    const x = LEFT + (i % columns) * 380
    const y = LEGEND_TOP + Math.floor(i / columns) * LEGEND_ROW
    parts.push(
      `<g class="legend-item" transform="translate(${x},${y})">${entry.symbol}<text class="legend" x="30" y="0">${escapeHtml(entry.label)}</text></g>`,
    )
  })
  const height = LEGEND_TOP + Math.ceil(legend.length / columns) * LEGEND_ROW + 6
  parts.push(
    `<text class="axis" transform="translate(16,${STOCK_TOP + STOCK_H / 2}) rotate(-90)" text-anchor="middle">units</text>`,
    `<text class="axis" transform="translate(16,${RISK_TOP + RISK_H / 2}) rotate(-90)" text-anchor="middle">risk</text>`,
  )
  const title = `${story.sku} at ${story.warehouseId}, ${formatDay(first)} to ${formatDay(first + count - 1)}`
  return [
    `<svg id="item-chart" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="item-chart-title item-chart-desc">`,
    `<title id="item-chart-title">${escapeHtml(title)}</title>`,
    `<desc id="item-chart-desc">Daily units sold and received (bars), closing stock (line), days out of stock (shaded); below, the stockout risk at each close with the alert threshold and the alert messages.</desc>`,
    ...parts,
    '</svg>',
  ].join('\n')
}

export function renderItemHtml(story: ItemStory, config: CoreConfig): string {
  const first = formatDay((story.days[0] as ItemDay).day)
  const last = formatDay((story.days.at(-1) as ItemDay).day)
  const table = htmlTable(
    [
      'date',
      'sold',
      'returned',
      'received',
      'adjusted',
      'closing stock',
      'out',
      'risk',
      'level',
      'on order',
      'reorder',
      'expected stockout',
    ],
    story.days.map((day) => dayCells(day, '')),
    'Day by day (risk … expected stockout: the figures at the close of the day)',
  )
  const messages = story.days.flatMap((day) =>
    day.alerts.map(
      (alert) =>
        `<li><strong>${formatDay(day.day)} ${escapeHtml(alert.status)}</strong> (risk ${alert.stockoutRisk.toFixed(3)}, ${escapeHtml(alert.riskLevel)}): ${escapeHtml(alert.reason)}</li>`,
    ),
  )
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>invpipe item ${escapeHtml(story.sku)} ${escapeHtml(story.warehouseId)}</title>
<style>${STYLE}
figure figcaption { max-width: ${WIDTH}px; }
</style>
</head>
<body>
<h1>${escapeHtml(story.sku)} at ${escapeHtml(story.warehouseId)}</h1>
<p class="verdict" id="now"><strong>Now:</strong> ${escapeHtml(story.reason || 'no figures yet')}.</p>
<p class="meta">${escapeHtml(storyCounts(story))} from ${first} to ${last}${story.source.kind === 'postgresql' ? `, from the PostgreSQL history in ${escapeHtml(story.source.database)} (${escapeHtml(HISTORY_ALERTS)})` : ''};
alert threshold ${config.alertThreshold}, default lead time ${config.leadTimeDays} days, service level ${config.serviceLevel}.
How the figures are computed: the README's "How the numbers are computed".</p>
<figure>
${itemChart(story, config)}
<figcaption>Bars: units sold (grey) and received (green) each day; line: the stock the day closed with; shaded: days
out of stock. Lower panel: the stockout risk at the close of each day, the alert threshold (dashed) and each alert
message (dots; hover for its reason).</figcaption>
</figure>
<h2>Alert messages</h2>
${messages.length === 0 ? '<p>None.</p>' : `<ul>\n${messages.join('\n')}\n</ul>`}
<h2>Days</h2>
${table}
</body>
</html>
`
}
