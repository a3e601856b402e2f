// `invpipe item SKU WAREHOUSE [FILE...]`: one item's story, day by day: sales, receipts, closing
// stock, the risk at the close of the day, the alert messages; as a table, --json, or an --html
// page with a chart. From event files, or with none from the PostgreSQL history consume stored.
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { defineCommand } from 'citty'
import { CORE_SETTINGS, coreConfigOf, loadSettings, settingArgs } from '../config.ts'
import { alertRecord } from '../core/alerts.ts'
import { metricsRecord } from '../core/rows.ts'
import { formatDay } from '../core/time.ts'
import { UsageError } from '../errors.ts'
import { POSTGRES_SETTINGS, postgresLocation, withPostgres } from '../postgres/connect.ts'
import { openInputs } from '../sources/files.ts'
import { columnLayout, wrap } from '../text.ts'
import { closest } from './cli.ts'
import { readItemHistory } from './item-history.ts'
import { renderItemHtml } from './item-html.ts'
import {
  collectItemStory,
  dayCells,
  HISTORY_ALERTS,
  type ItemDay,
  type ItemStory,
  storyCounts,
} from './item-story.ts'
import { checkOutputs } from './paths.ts'

export const itemCommand = defineCommand({
  meta: {
    name: 'item',
    description:
      "One item's story, day by day: units sold, returned, received and adjusted, the closing stock, the stockout risk at the close of the day and the alert messages raised.\n" +
      'From event files, or with none from the history that consume (or replay --sinks postgres) stored in PostgreSQL.\n' +
      'Examples:\n  invpipe item SKU-00002 WH-01 fixtures/sample-events.jsonl\n' +
      '  invpipe item SKU-00002 WH-01\n' +
      '  invpipe item SKU-00002 WH-01 events.jsonl --json\n' +
      '  invpipe item SKU-00002 WH-01 day1.jsonl day2.parquet --html item.html',
  },
  args: {
    sku: { type: 'positional', description: 'the SKU', required: true },
    warehouse: { type: 'positional', description: 'the warehouse id', required: true },
    files: {
      type: 'positional',
      description:
        'event files (JSON lines or Parquet), read in the order given; - reads standard input; none: the PostgreSQL history',
      valueHint: '[FILE... | -]',
      required: false,
    },
    json: { type: 'boolean', description: 'print the story as JSON' },
    html: {
      type: 'string',
      description: 'also write a self-contained page with a chart (inline SVG) to this file',
      valueHint: 'FILE',
    },
    ...settingArgs([...CORE_SETTINGS, ...POSTGRES_SETTINGS]),
  },
  async run({ args }) {
    const settings = loadSettings(CORE_SETTINGS, args)
    const [sku, warehouseId, ...paths] = args._.map(String)
    if (sku === undefined || warehouseId === undefined)
      throw new UsageError('name the item: invpipe item SKU WAREHOUSE [FILE...]')
    const html = args.html === undefined ? null : String(args.html)
    if (html !== null) {
      checkOutputs(paths, [{ flag: '--html', path: html, extensions: ['.html', '.htm'] }])
      // Before anything is read: the page could not be written.
      const directory = dirname(html)
      if (!existsSync(directory) || !statSync(directory).isDirectory())
        throw new UsageError(`--html ${html}: directory ${directory} does not exist`)
    }
    const core = coreConfigOf(settings)
    let story: ItemStory
    if (paths.length > 0) {
      story = await collectItemStory(openInputs(paths), sku, warehouseId, core)
      if (story.events === 0) throw new UsageError(notFound(story))
    } else {
      const postgres = loadSettings(POSTGRES_SETTINGS, args)
      const database = postgresLocation(postgres)
      story = await withPostgres(postgres, (sql) => readItemHistory(sql, database, sku, warehouseId, core))
    }
    if (html !== null) {
      const temporary = `${html}.tmp-${process.pid}`
      writeFileSync(temporary, renderItemHtml(story, core))
      renameSync(temporary, html)
    }
    if (args.json) console.log(JSON.stringify(storyRecord(story), null, 2))
    else {
      console.log(formatStory(story))
      if (html !== null) console.log(`\nwrote ${html}`)
    }
  },
})

function notFound(story: ItemStory): string {
  const meant = closest(`${story.sku} ${story.warehouseId}`, story.otherItems)
  return `no event of ${story.sku} at ${story.warehouseId} in ${story.linesRead} lines read${meant === null ? '' : ` (did you mean ${meant}?)`}`
}

export function storyRecord(story: ItemStory) {
  return {
    sku: story.sku,
    warehouse_id: story.warehouseId,
    source: story.source,
    events: story.events,
    duplicates: story.duplicates,
    days: story.days.map((day) => ({
      date: formatDay(day.day),
      events: !day.quiet,
      sold: day.sold,
      returned: day.returned,
      received: day.received,
      adjusted: day.adjusted,
      closing_on_hand: day.quiet ? null : day.closingOnHand,
      stockout: day.stockout,
      stockout_risk: day.row?.stockoutRisk ?? null,
      risk_level: day.row?.riskLevel ?? null,
      on_order: day.row?.onOrder ?? null,
      reorder_quantity: day.row?.reorderQuantity ?? null,
      expected_stockout_date:
        day.row?.expectedStockoutDate == null ? null : formatDay(day.row.expectedStockoutDate),
      alerts: day.alerts.map((alert) => {
        const { sku: _s, warehouse_id: _w, generated_at: _g, ...record } = alertRecord(alert, 0)
        return record
      }),
    })),
    final:
      story.final === null
        ? null
        : (() => {
            const { computed_at: _, ...record } = metricsRecord(story.final)
            return { ...record, reason: story.reason }
          })(),
  }
}

/** Width the table and the wrapped messages stay within. */
const WIDTH = 120

export function formatStory(story: ItemStory): string {
  const first = story.days[0] as ItemDay
  const last = story.days.at(-1) as ItemDay
  const header = [
    'date',
    'sold',
    'returned',
    'received',
    'adjusted',
    'closing',
    'out',
    'risk',
    'level',
    'on order',
    'reorder',
    'stockout',
  ]
  const left = new Set([0, 6, 8, 11])
  const body = story.days.map((day) => dayCells(day, '-'))
  const { line, rule } = columnLayout(header, body, (i) => left.has(i))
  const lines = [
    `${story.sku} at ${story.warehouseId}: ${storyCounts(story)}, ${formatDay(first.day)} … ${formatDay(last.day)}`,
    ...(story.source.kind === 'postgresql'
      ? wrap(`from the PostgreSQL history in ${story.source.database}; ${HISTORY_ALERTS}`, WIDTH)
      : []),
    'sold … adjusted: units on the day; closing: stock at the end of it; risk, level, on order, reorder, stockout:',
    'the figures at the close of the day (stockout: the expected stockout date); ! an alert message of that day',
    '',
    line(header),
    rule,
  ]
  story.days.forEach((day, i) => {
    lines.push(line(body[i] as string[]))
    for (const alert of day.alerts)
      lines.push(
        ...wrap(
          `! ${alert.status} (${alert.messageId}, risk ${alert.stockoutRisk.toFixed(3)} ${alert.riskLevel}): ${alert.reason}`,
          WIDTH,
          '    ',
        ),
      )
  })
  if (story.final !== null) lines.push('', ...wrap(`now: ${story.reason}`, WIDTH))
  return lines.join('\n')
}
