// `invpipe backtest [FILE...]`: how well did the predicted stockout risk foresee the stockouts that
// happened? From event files, or with none from the history `consume` stored in PostgreSQL.
// Terminal table (a plain-words verdict first), --json, --html FILE; each also gives the scores per
// segment of items and the stockouts no alert foresaw.
import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { defineCommand } from 'citty'
import { renderHtml } from '../backtest/html.ts'
import { formatReport, reportRecord } from '../backtest/report.ts'
import { type BacktestRun, backtestFiles, backtestHistory } from '../backtest/run.ts'
import { type Bound, parseBound } from '../backtest/window.ts'
import { CORE_SETTINGS, coreConfigOf, loadSettings, type Settings, settingArgs } from '../config.ts'
import type { CoreConfig } from '../core/config.ts'
import { dayOf } from '../core/time.ts'
import { UsageError } from '../errors.ts'
import { POSTGRES_SETTINGS, postgresLocation, withPostgres } from '../postgres/connect.ts'
import { openInputs } from '../sources/files.ts'
import { checkOutputs } from './paths.ts'
import { checkRejectRate } from './reject-rate.ts'

export const backtestCommand = defineCommand({
  meta: {
    name: 'backtest',
    description:
      'Score the stockout risk predicted at the close of each day against the stockouts that followed within the lead time.\n' +
      'With no file, reads the history that consume stored in PostgreSQL (relative bounds then count back from today, UTC).\n' +
      'Examples:\n  invpipe backtest --since 30d\n  invpipe backtest events.jsonl\n  invpipe backtest day1.jsonl day2.parquet --since 60d --until 7d --html backtest.html\n  invpipe backtest events.jsonl --since 2026-03-01 --json',
  },
  args: {
    files: {
      type: 'positional',
      description:
        'event files (JSONL or Parquet), read in the order given; - reads standard input; none: the PostgreSQL history',
      valueHint: '[FILE... | -]',
      required: false,
    },
    since: {
      type: 'string',
      description:
        "first day of predictions: Nd = the last N days (N from 1 to 3650), counted back from A = the files' latest event day or, for the PostgreSQL history, today (30d = A-29 … A), or YYYY-MM-DD (2000-2099)",
      default: '30d',
      valueHint: 'Nd|YYYY-MM-DD',
    },
    until: {
      type: 'string',
      description:
        'last day of predictions: Nd = N days before A (0d = A; N up to 3650), or YYYY-MM-DD (2000-2099)',
      default: '0d',
      valueHint: 'Nd|YYYY-MM-DD',
    },
    json: { type: 'boolean', description: 'print the report as JSON' },
    html: {
      type: 'string',
      description: 'also write a self-contained HTML page (charts as inline SVG) to this file',
      valueHint: 'FILE',
    },
    ...settingArgs([...CORE_SETTINGS, 'maxRejectRate', ...POSTGRES_SETTINGS]),
  },
  async run({ args }) {
    const settings = loadSettings(CORE_SETTINGS, args)
    const { maxRejectRate } = loadSettings(['maxRejectRate'], args)
    const since = checkBound(parseBound(String(args.since), '--since'), '--since', String(args.since))
    const until = checkBound(parseBound(String(args.until), '--until'), '--until', String(args.until))
    const paths = args._.map(String)
    const htmlPath = args.html === undefined ? null : resolve(String(args.html))
    if (args.html !== undefined)
      checkOutputs(paths, [{ flag: '--html', path: String(args.html), extensions: ['.html', '.htm'] }])
    if (htmlPath !== null) checkWritableDirectory(htmlPath)
    const core = coreConfigOf(settings)
    const { report, seconds } =
      paths.length > 0
        ? await backtestFiles({ inputs: openInputs(paths), core, since, until })
        : await backtestPostgres(loadSettings(POSTGRES_SETTINGS, args), core, since, until)
    if (htmlPath !== null) {
      const temporary = `${htmlPath}.tmp`
      writeFileSync(temporary, renderHtml(report))
      renameSync(temporary, htmlPath)
    }
    if (args.json) console.log(JSON.stringify(reportRecord(report), null, 2))
    else {
      console.log(formatReport(report))
      console.log(
        `\n${htmlPath === null ? '' : `wrote ${args.html}; `}${report.events === null ? `${report.counts.closes} item-days` : `${report.events.read} events`} in ${seconds.toFixed(2)} s`,
      )
    }
    if (report.events !== null)
      checkRejectRate(
        report.events.read,
        report.events.rejected,
        maxRejectRate,
        'invpipe replay FILE --rejects rejects.jsonl lists each line and why',
      )
  },
})

function backtestPostgres(
  settings: Settings<(typeof POSTGRES_SETTINGS)[number]>,
  core: CoreConfig,
  since: Bound,
  until: Bound,
): Promise<BacktestRun> {
  const database = postgresLocation(settings)
  return withPostgres(settings, (sql) =>
    backtestHistory({ sql, database, today: dayOf(Date.now()), core, since, until }),
  )
}

/**
 * Events lie in 2000–2099 (dates outside are refused by parseBound): a relative bound reaches back
 * at most ten years, so a window cannot start centuries before its data.
 */
const MAX_DAYS_BACK = 3650

function checkBound(bound: Bound, flag: '--since' | '--until', text: string): Bound {
  if (bound.kind === 'days' && bound.days > MAX_DAYS_BACK)
    throw new UsageError(
      `invalid ${flag} "${text}": at most ${MAX_DAYS_BACK}d (ten years back), or a date YYYY-MM-DD in 2000-2099`,
    )
  return bound
}

/** Fails before anything is read when the page could not be written. */
function checkWritableDirectory(path: string): void {
  const directory = dirname(path)
  if (!existsSync(directory) || !statSync(directory).isDirectory())
    throw new UsageError(`--html ${path}: directory ${directory} does not exist`)
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`--html ${path}: is a directory`)
}
