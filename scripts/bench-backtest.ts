// `bun scripts/bench-backtest.ts`: how long `invpipe backtest` takes on 1,000,000 events over 10,000
// items × 90 days (issue 4: "seconds, not minutes"). A benchmark, not a test: it prints figures and
// asserts nothing. BENCH_EVENTS overrides the event count.
import { existsSync, mkdirSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'

const ROOT = join(import.meta.dir, '..')
const OUT = join(ROOT, 'bench-out')
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const EVENTS_FILE = join(OUT, EVENTS === 1_000_000 ? 'bt.jsonl' : `bt-${EVENTS}.jsonl`)

function invpipe(args: string[]) {
  const started = performance.now()
  const proc = Bun.spawnSync(['bun', join(ROOT, 'src/main.ts'), ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
  })
  if (proc.exitCode !== 0) throw new Error(`invpipe ${args.join(' ')} failed`)
  return {
    stdout: proc.stdout.toString(),
    seconds: (performance.now() - started) / 1000,
    // Bun reports maxRSS in bytes (checked: a 200 MiB allocation shows ~223,000,000).
    maxRssMiB: (proc.resourceUsage?.maxRSS ?? 0) / 1048576,
  }
}

mkdirSync(OUT, { recursive: true })
if (!existsSync(EVENTS_FILE)) {
  const generated = invpipe([
    'generate',
    '--events',
    String(EVENTS),
    '--skus',
    '2500',
    '--warehouses',
    '4',
    '--days',
    '90',
    '--output',
    EVENTS_FILE,
  ])
  console.log(`generated ${EVENTS_FILE} in ${generated.seconds.toFixed(1)} s`)
}

console.log(
  `backtest benchmark: ${EVENTS.toLocaleString('en')} events, 10,000 items × 90 days, Bun ${Bun.version}, ${availableParallelism()} cores`,
)
for (const window of ['30d', '90d']) {
  const json = invpipe(['backtest', EVENTS_FILE, '--since', window, '--json'])
  const report = JSON.parse(json.stdout)
  console.log(
    `--since ${window.padEnd(3)} --json: ${json.seconds.toFixed(2)} s wall (incl. start-up), ` +
      `${report.events.read.toLocaleString('en')} events, ${report.items.toLocaleString('en')} items, ` +
      `${report.closes.scored.toLocaleString('en')} predictions scored of ${report.closes.in_window.toLocaleString('en')} item-days, ` +
      `peak RSS ${json.maxRssMiB.toFixed(0)} MiB`,
  )
}
const html = invpipe(['backtest', EVENTS_FILE, '--html', join(OUT, 'bt.html')])
console.log(`--since 30d --html:  ${html.seconds.toFixed(2)} s wall (table and page)`)
