import { accessSync, constants, existsSync, mkdirSync, statSync } from 'node:fs'
import { defineCommand } from 'citty'
import { SingleBar } from 'cli-progress'
import { CORE_SETTINGS, coreConfigOf, loadSettings, SETTINGS, type Settings, settingArgs } from '../config.ts'
import { RISK_LEVELS } from '../core/risk.ts'
import { metricsRecord } from '../core/rows.ts'
import { ServiceError, UsageError } from '../errors.ts'
import { KAFKA_SETTINGS } from '../kafka/client.ts'
import { POSTGRES_SETTINGS } from '../postgres/connect.ts'
import { type ReplaySummary, replay } from '../replay.ts'
import { REDIS_SETTINGS } from '../sinks/redis.ts'
import { type InputFile, openInputs } from '../sources/files.ts'
import { columnLayout, wrap } from '../text.ts'
import { checkOutputs } from './paths.ts'
import { checkRejectRate } from './reject-rate.ts'
import { closeQuietly, openSinks, parseSinks } from './replay-sinks.ts'
import { parquetTemporaries, removeOnInterrupt } from './signals.ts'

const REPLAY_SETTINGS = [
  'batchSize',
  'dataDir',
  'maxRejectRate',
  ...CORE_SETTINGS,
  ...POSTGRES_SETTINGS,
  ...REDIS_SETTINGS,
  ...KAFKA_SETTINGS,
  'alertTopic',
] as const
/** Inputs smaller than this finish before a progress bar would be worth drawing. */
const PROGRESS_MIN_BYTES = 32 << 20

export const replayCommand = defineCommand({
  meta: {
    name: 'replay',
    description:
      'Run the analytics over JSONL or Parquet event files (or - for stdin) and write processed-metrics Parquet files.\n' +
      'Examples:\n  invpipe replay fixtures/sample-events.jsonl\n  invpipe replay day1.jsonl day2.parquet --alerts alerts.jsonl --rejects rejects.jsonl\n  zcat events.jsonl.gz | invpipe replay - --json',
  },
  args: {
    files: {
      type: 'positional',
      description: 'event files (JSON lines or Parquet), read in the order given; - reads standard input',
      valueHint: 'FILE... | -',
      required: false,
    },
    alerts: {
      type: 'string',
      description:
        'write the alert messages (raised, escalated, reminder, resolved, each with its reason) to this file as JSON lines',
      valueHint: 'FILE',
    },
    rejects: {
      type: 'string',
      description: 'write each rejected or duplicate record with its reason to this file as JSON lines',
      valueHint: 'FILE',
    },
    json: { type: 'boolean', description: 'print the closing summary as JSON' },
    top: {
      type: 'string',
      description: 'how many of the items most at risk the summary lists, 0 to 100000 (every item: --csv)',
      valueHint: 'N',
      default: '10',
    },
    csv: {
      type: 'string',
      description:
        "write every item's final row (the processed-metrics columns and the reason in words) to this CSV file, most at risk first",
      valueHint: 'FILE',
    },
    sinks: {
      type: 'string',
      description: 'where results go, comma-separated: parquet (always), postgres, redis, kafka (alerts)',
      valueHint: 'parquet,postgres,redis,kafka',
      default: 'parquet',
    },
    progress: {
      type: 'boolean',
      description: 'draw a progress bar on a terminal (--no-progress to hide it)',
      negativeDescription:
        'no progress bar (one is drawn on stderr only when it is a terminal and the input exceeds 32 MiB)',
      default: true,
    },
    ...settingArgs(REPLAY_SETTINGS),
  },
  async run({ args }) {
    const settings = loadSettings(REPLAY_SETTINGS, args)
    const sinkNames = parseSinks(args.sinks)
    const paths = args._.map(String)
    const top = parseTop(String(args.top))
    checkOutputs(paths, [
      ...(args.alerts === undefined ? [] : [{ flag: '--alerts', path: args.alerts }]),
      ...(args.rejects === undefined ? [] : [{ flag: '--rejects', path: args.rejects }]),
      ...(args.csv === undefined ? [] : [{ flag: '--csv', path: args.csv, extensions: ['.csv'] }]),
    ])
    const inputs = openInputs(paths)
    checkDataDir(settings.dataDir, args['data-dir'] === undefined ? 'DATA_DIR' : '--data-dir')
    const sinks = await openSinks(sinkNames, settings)
    const progress = args.progress ? progressBar(inputs) : null
    const stopCleanup = removeOnInterrupt(() => parquetTemporaries(settings.dataDir))
    let failed = true
    try {
      const summary = await replay({
        inputs,
        core: coreConfigOf(settings),
        batchSize: settings.batchSize,
        dataDir: settings.dataDir,
        alertsPath: args.alerts,
        rejectsPath: args.rejects,
        csvPath: args.csv,
        top,
        settings: runSettings(settings),
        sinks,
        onBytes: progress?.advance,
      })
      progress?.stop()
      failed = false
      console.log(
        args.json
          ? JSON.stringify(summaryRecord(summary, runSettings(settings)), null, 2)
          : formatSummary(summary, args.csv),
      )
      checkRejectRate(
        summary.tally.read,
        summary.tally.rejected,
        settings.maxRejectRate,
        'the summary counts the reasons; --rejects FILE lists each line',
      )
    } catch (error) {
      progress?.stop()
      throw outputFailure(error)
    } finally {
      stopCleanup()
      if (failed) await closeQuietly(sinks)
      else for (const sink of sinks) await sink.close()
    }
  },
})

/**
 * The Parquet directory, created if need be, before anything is read: a file of that name, a path
 * that cannot be created or a directory without write permission is one line naming the setting.
 */
function checkDataDir(path: string, origin: '--data-dir' | 'DATA_DIR'): void {
  const name = origin === 'DATA_DIR' ? `DATA_DIR=${path}` : `--data-dir ${path}`
  if (existsSync(path) && !statSync(path).isDirectory())
    throw new UsageError(`${name}: not a directory (the Parquet files go into it)`)
  try {
    mkdirSync(path, { recursive: true })
    accessSync(path, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message
    throw new UsageError(`${name}: cannot create or write the directory (${code})`)
  }
}

/** A file that cannot be written mid-run (disk full, permissions) is one line naming it, not a stack. */
function outputFailure(error: unknown): unknown {
  const { code, path } = error as NodeJS.ErrnoException
  if (typeof code === 'string' && typeof path === 'string' && !(error instanceof ServiceError))
    return new ServiceError(`${path}: ${(error as Error).message}`)
  return error
}

function progressBar(inputs: InputFile[]) {
  const total = inputs.reduce((sum, input) => sum + input.size, 0)
  if (!process.stderr.isTTY || total < PROGRESS_MIN_BYTES) return null
  const bar = new SingleBar({
    format: 'replay [{bar}] {percentage}% | {value}/{total} MiB | eta {eta}s',
    stream: process.stderr,
    hideCursor: true,
  })
  const mib = (bytes: number) => Math.round(bytes / 1048576)
  let done = 0
  bar.start(mib(total), 0)
  return {
    advance: (bytes: number) => {
      done += bytes
      bar.update(mib(done))
    },
    stop: () => bar.stop(),
  }
}

function parseTop(text: string): number {
  const top = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN
  if (!(top >= 0 && top <= 100_000))
    throw new UsageError(`--top must be a whole number from 0 to 100000, got ${JSON.stringify(text)}`)
  return top
}

/** The settings that shape the figures, by their variable names in lower case: how to tell runs apart. */
export function runSettings(settings: Settings<(typeof REPLAY_SETTINGS)[number]>): Record<string, number> {
  const names = ['batchSize', ...CORE_SETTINGS] as const
  return Object.fromEntries(names.map((name) => [SETTINGS[name].env.toLowerCase(), settings[name]]))
}

export function summaryRecord(summary: ReplaySummary, settings: Record<string, number>) {
  return {
    run_id: summary.runId,
    settings,
    events: summary.tally.toJSON(),
    items: summary.items,
    alerts: summary.alerts,
    rows_written: summary.rowsWritten,
    files: summary.files,
    seconds: Number(summary.seconds.toFixed(3)),
    events_per_second: Math.round(summary.eventsPerSecond),
    risk_levels: summary.riskLevels,
    reorder_by_warehouse: summary.reorders.map((w) => ({
      warehouse_id: w.warehouseId,
      items: w.items,
      items_to_reorder: w.itemsToReorder,
      reorder_units: w.units,
    })),
    csv_rows: summary.csvRows,
    top_at_risk: summary.topAtRisk.map((row) => {
      const { computed_at: _, ...record } = metricsRecord(row)
      return { ...record, reason: row.reason }
    }),
  }
}

function formatSummary(summary: ReplaySummary, csvPath: string | undefined): string {
  const t = summary.tally
  const byCode = Object.entries(t.rejectedByCode)
    .sort(([, a], [, b]) => (b as number) - (a as number))
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')
  const lines = [
    `events      ${t.read} read, ${t.accepted} accepted, ${t.rejected} rejected${byCode ? ` (${byCode})` : ''}, ${t.duplicates} duplicates`,
    `items       ${summary.items}`,
    `alerts      ${summary.alerts}`,
    `rows        ${summary.rowsWritten} processed-metrics rows in ${summary.files.length} file(s)`,
    ...summary.files.map((file) => `            ${file}`),
    `speed       ${Math.round(summary.eventsPerSecond)} events/s (${summary.seconds.toFixed(2)} s)`,
    `run         ${summary.runId}`,
    `risk        ${RISK_LEVELS.slice()
      .reverse()
      .map((level) => `${summary.riskLevels[level]} ${level}`)
      .join(', ')}`,
    ...formatReorders(summary.reorders),
  ]
  if (summary.csvRows !== null) lines.push(`csv         ${summary.csvRows} items in ${csvPath}`)
  if (summary.topAtRisk.length > 0) lines.push('', 'most at risk', formatRiskTable(summary.topAtRisk))
  return lines.join('\n')
}

/** Items and units to reorder per warehouse, as a small table under the summary's figures. */
function formatReorders(reorders: ReplaySummary['reorders']): string[] {
  if (reorders.length === 0) return []
  const header = ['warehouse', 'items', 'to reorder', 'units']
  const body = reorders.map((w) => [
    w.warehouseId,
    String(w.items),
    String(w.itemsToReorder),
    formatNumber(w.units),
  ])
  const total = reorders.reduce(
    (sum, w) => ({
      items: sum.items + w.items,
      toReorder: sum.toReorder + w.itemsToReorder,
      units: sum.units + w.units,
    }),
    { items: 0, toReorder: 0, units: 0 },
  )
  if (reorders.length > 1)
    body.push(['all', String(total.items), String(total.toReorder), formatNumber(total.units)])
  const { line } = columnLayout(header, body, (i) => i === 0)
  return [`reorder     ${line(header)}`, ...body.map((cells) => `            ${line(cells)}`)]
}

/** The summary's terminal width: the table and the wrapped reasons stay within it. */
const SUMMARY_WIDTH = 120

/**
 * The items most at risk: one line of figures per item (within 120 columns for the usual SKU and
 * warehouse names), and under it, indented, the reason in words (wrapped).
 */
function formatRiskTable(rows: ReplaySummary['topAtRisk']): string {
  const header = [
    'sku',
    'warehouse',
    'as of',
    'risk',
    'level',
    'on hand',
    'on order',
    'lead d',
    'demand',
    'stockout',
    'cover d',
    'reorder',
  ]
  const left = new Set([0, 1, 2, 4, 9])
  const body = rows.map((r) => {
    const record = metricsRecord(r)
    return [
      r.sku,
      r.warehouseId,
      record.as_of_date,
      (r.stockoutRisk as number).toFixed(3),
      r.riskLevel,
      formatNumber(r.onHand),
      formatNumber(r.onOrder),
      formatNumber(r.leadTimeDays),
      formatNumber(r.expectedDemandLeadTime),
      record.expected_stockout_date ?? '-',
      formatNumber(r.daysOfCover),
      formatNumber(r.reorderQuantity),
    ]
  })
  const { line, rule } = columnLayout(header, body, (i) => left.has(i))
  const lines = [
    'demand: expected over the lead time; stockout: expected stockout date; lead and cover in days',
    '',
    line(header),
    rule,
  ]
  rows.forEach((row, i) => {
    lines.push(line(body[i] as string[]))
    lines.push(...wrap(row.reason, SUMMARY_WIDTH, '    '))
  })
  return lines.join('\n')
}

function formatNumber(value: number | null): string {
  if (value === null) return '-'
  return Number.isInteger(value) ? String(value) : value.toFixed(1)
}
