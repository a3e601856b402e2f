// `bun scripts/bench-backtest.ts`: how long `invpipe backtest` takes on 1,000,000 events over 10,000
// items × 90 days (issue 4: "seconds, not minutes"), from the event file and from the PostgreSQL
// history (loaded first by `replay --sinks postgres`, which writes what consume writes; needs
// PostgreSQL, see scripts/stack/stack.sh). A benchmark, not a test: it prints figures and asserts
// nothing. BENCH_EVENTS overrides the event count.
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { dropDatabase, freshDatabase } from '../test/support/stack.ts'
import { BENCH_OUT, benchEvents, invpipe } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const EVENTS_FILE = await benchEvents(EVENTS, 2_500, 4)

console.log(
  `backtest benchmark: ${EVENTS.toLocaleString('en')} events, 10,000 items × 90 days, Bun ${Bun.version}, ${availableParallelism()} cores`,
)
const fileReports = new Map<string, Record<string, unknown>>()
for (const window of ['30d', '90d']) {
  const json = await invpipe(['backtest', EVENTS_FILE, '--since', window, '--json'])
  const report = JSON.parse(json.stdout)
  fileReports.set(window, report)
  console.log(
    `files --since ${window.padEnd(3)} --json: ${json.seconds.toFixed(2)} s wall (incl. start-up), ` +
      `${report.events.read.toLocaleString('en')} events, ${report.items.toLocaleString('en')} items, ` +
      `${report.closes.scored.toLocaleString('en')} predictions scored of ${report.closes.in_window.toLocaleString('en')} item-days, ` +
      `peak RSS ${json.maxRssMiB.toFixed(0)} MiB`,
  )
}
const html = await invpipe(['backtest', EVENTS_FILE, '--html', join(BENCH_OUT, 'bt.html')])
console.log(`files --since 30d --html:  ${html.seconds.toFixed(2)} s wall (table and page)`)

const database = await freshDatabase('bench_backtest')
try {
  const env = { ...process.env, POSTGRES_DB: database, DATA_DIR: join(BENCH_OUT, 'bt-replay') }
  const load = await invpipe(['replay', EVENTS_FILE, '--sinks', 'postgres', '--batch-size', '5000'], env)
  console.log(`history loaded by replay --sinks postgres in ${load.seconds.toFixed(1)} s`)
  for (const [window, fromFile] of fileReports) {
    // The generated data end before today: name the file run's window by its dates.
    const { since, until } = fromFile.window as { since: string; until: string }
    const json = await invpipe(['backtest', '--since', since, '--until', until, '--json'], env)
    const { source: _, events: __, ...figures } = JSON.parse(json.stdout)
    const { source: ___, events: ____, ...fileFigures } = fromFile
    const same = JSON.stringify(figures) === JSON.stringify(fileFigures)
    console.log(
      `PostgreSQL history, window of --since ${window}: ${json.seconds.toFixed(2)} s wall, peak RSS ${json.maxRssMiB.toFixed(0)} MiB; ` +
        `report ${same ? 'identical to' : 'DIFFERENT from'} the file's`,
    )
  }
} finally {
  await dropDatabase(database)
}
