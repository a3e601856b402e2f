// `bun scripts/bench-backtest.ts`: how long `invpipe backtest` takes on 1,000,000 events over 10,000
// items × 90 days (issue 4: "seconds, not minutes"). A benchmark, not a test: it prints figures and
// asserts nothing. BENCH_EVENTS overrides the event count.
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { BENCH_OUT, benchEvents, invpipe } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const EVENTS_FILE = await benchEvents(EVENTS, 2_500, 4)

console.log(
  `backtest benchmark: ${EVENTS.toLocaleString('en')} events, 10,000 items × 90 days, Bun ${Bun.version}, ${availableParallelism()} cores`,
)
for (const window of ['30d', '90d']) {
  const json = await invpipe(['backtest', EVENTS_FILE, '--since', window, '--json'])
  const report = JSON.parse(json.stdout)
  console.log(
    `--since ${window.padEnd(3)} --json: ${json.seconds.toFixed(2)} s wall (incl. start-up), ` +
      `${report.events.read.toLocaleString('en')} events, ${report.items.toLocaleString('en')} items, ` +
      `${report.closes.scored.toLocaleString('en')} predictions scored of ${report.closes.in_window.toLocaleString('en')} item-days, ` +
      `peak RSS ${json.maxRssMiB.toFixed(0)} MiB`,
  )
}
const html = await invpipe(['backtest', EVENTS_FILE, '--html', join(BENCH_OUT, 'bt.html')])
console.log(`--since 30d --html:  ${html.seconds.toFixed(2)} s wall (table and page)`)
