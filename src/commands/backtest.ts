// `invpipe backtest FILE...`: how well did the predicted stockout risk foresee the stockouts that
// happened? Terminal table, --json, --html FILE. (The PostgreSQL source, for when no file is
// named, is not available yet.)
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { defineCommand } from 'citty'
import { renderHtml } from '../backtest/html.ts'
import { formatReport, reportRecord } from '../backtest/report.ts'
import { backtestFiles } from '../backtest/run.ts'
import { parseBound } from '../backtest/window.ts'
import { CORE_SETTINGS, coreConfigOf, loadSettings, settingArgs } from '../config.ts'
import { UsageError } from '../errors.ts'
import { openInputs } from '../sources/files.ts'

export const backtestCommand = defineCommand({
  meta: {
    name: 'backtest',
    description:
      'Score the stockout risk predicted at the close of each day against the stockouts that followed within the lead time.\n' +
      'Examples:\n  invpipe backtest events.jsonl\n  invpipe backtest day1.jsonl day2.parquet --since 60d --until 7d --html backtest.html\n  invpipe backtest events.jsonl --since 2026-03-01 --json',
  },
  args: {
    files: {
      type: 'positional',
      description: 'event files (JSONL or Parquet), read in the order given; - reads standard input',
      required: false,
    },
    since: {
      type: 'string',
      description:
        'first day of predictions: Nd = the last N days, counted back from the latest event day E (30d = E-29 … E), or YYYY-MM-DD',
      default: '30d',
      valueHint: 'Nd|YYYY-MM-DD',
    },
    until: {
      type: 'string',
      description: 'last day of predictions: Nd = N days before E (0d = E), or YYYY-MM-DD',
      default: '0d',
      valueHint: 'Nd|YYYY-MM-DD',
    },
    json: { type: 'boolean', description: 'print the report as JSON' },
    html: {
      type: 'string',
      description: 'also write a self-contained HTML page (charts as inline SVG) to this file',
      valueHint: 'FILE',
    },
    ...settingArgs(CORE_SETTINGS),
  },
  async run({ args }) {
    const settings = loadSettings(CORE_SETTINGS, args)
    const since = parseBound(String(args.since), '--since')
    const until = parseBound(String(args.until), '--until')
    const paths = args._.map(String)
    if (paths.length === 0) {
      throw new UsageError(
        'backtest: no event file given, and the PostgreSQL source (analytics.daily_inventory) is not available yet: name one or more JSONL or Parquet files, or - for standard input',
      )
    }
    const htmlPath = args.html === undefined ? null : resolve(String(args.html))
    if (htmlPath !== null) checkWritableDirectory(htmlPath)
    const inputs = openInputs(paths)
    const { report, seconds } = await backtestFiles({ inputs, core: coreConfigOf(settings), since, until })
    if (htmlPath !== null) {
      const temporary = `${htmlPath}.tmp`
      writeFileSync(temporary, renderHtml(report))
      renameSync(temporary, htmlPath)
    }
    if (args.json) {
      console.log(JSON.stringify(reportRecord(report), null, 2))
      return
    }
    console.log(formatReport(report))
    console.log(
      `\n${htmlPath === null ? '' : `wrote ${args.html}; `}${report.events.read} events in ${seconds.toFixed(2)} s`,
    )
  },
})

/** Fails before anything is read when the page could not be written. */
function checkWritableDirectory(path: string): void {
  const directory = dirname(path)
  if (!existsSync(directory) || !statSync(directory).isDirectory())
    throw new UsageError(`--html ${path}: directory ${directory} does not exist`)
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--html ${path}: is a directory`)
}
