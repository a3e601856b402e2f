// `bun scripts/chaos-consume.ts`: consume --drain over a pre-filled topic while its PostgreSQL
// sessions are terminated (pg_terminate_backend of every active invpipe session, about every
// CHAOS_EVERY_MS), then what PostgreSQL holds against replay's results over the same events
// (computed here, in process). Needs the local stack (bash scripts/stack/stack.sh up) and a role
// allowed to end other sessions (CHAOS_ADMIN_USER, default postgres). A check at a scale the test
// suite cannot afford (test/faults.test.ts runs it on 60,000 events); it found events lost through
// the PostgreSQL driver (README, "Reliability").
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import postgres from 'postgres'
import { analyze, firstDifference } from '../test/support/analyze.ts'
import { createTopic, produceLines } from '../test/support/kafka.ts'
import { consumeEnv, dropDatabase, freshDatabase, storedResults } from '../test/support/stack.ts'
import { benchEvents, ROOT } from './bench-support.ts'

const EVENTS = Number(process.env.CHAOS_EVENTS ?? 300_000)
const EVERY_MS = Number(process.env.CHAOS_EVERY_MS ?? 2_500)
const LIMIT_S = Number(process.env.CHAOS_LIMIT_S ?? 600)

const lines = readFileSync(await benchEvents(EVENTS, 2_500, 4), 'utf8')
  .split('\n')
  .slice(0, -1)
const expected = analyze(lines)
const id = `chaos${Date.now().toString(36)}`
const topic = `events-${id}`
await createTopic(topic, 3)
await produceLines(topic, lines)
const database = await freshDatabase(id)
const admin = postgres({
  host: process.env.POSTGRES_HOST ?? '127.0.0.1',
  username: process.env.CHAOS_ADMIN_USER ?? 'postgres',
  database: 'postgres',
  max: 1,
  onnotice: () => {},
})
const env = consumeEnv({
  topic,
  database,
  group: `group-${id}`,
  alertTopic: `alerts-${id}`,
  dlqTopic: `dlq-${id}`,
  dataDir: join(ROOT, 'bench-out', id),
  batchSize: 100,
})
const logFile = join(ROOT, 'bench-out', `${id}.log`)
const consume = Bun.spawn(['bun', join(ROOT, 'src/main.ts'), 'consume', '--drain'], {
  env,
  stdout: 'ignore',
  stderr: Bun.file(logFile),
})
// A partition that stops committing would hold the drain for ever: ended, and said so.
const stalled = setTimeout(() => {
  console.log(`consume had not drained the topic after ${LIMIT_S} s: stopped (its log: ${logFile})`)
  consume.kill('SIGKILL')
}, LIMIT_S * 1000)
let terminated = 0
let running = true
const chaos = (async () => {
  while (running) {
    // At random moments around the interval: a fixed period locks into step with consume's own
    // retries (each reload's first commit ending just after the next termination, for ever).
    await Bun.sleep(EVERY_MS * (0.5 + Math.random()))
    const ended = await admin`
      SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
      WHERE datname = ${database} AND application_name = 'invpipe' AND state = 'active'`
    terminated += ended.filter((row) => row.ended).length
  }
})()
const code = await consume.exited
clearTimeout(stalled)
running = false
await chaos
// consume may have died before it created the schema (its first session terminated): one line, not a trace.
const stored = await storedResults(database).catch((error: Error) => {
  console.log(
    `consume exited ${code} after ${terminated} sessions were terminated; nothing to compare: ${error.message}`,
  )
  return null
})
if (stored === null) {
  await admin.end()
  await dropDatabase(database)
  process.exit(1)
}
const finalDiff = firstDifference(stored.final, expected.final)
const dailyDiff = firstDifference(stored.daily, expected.daily)
const count = (rows: Record<string, unknown>[]) => rows.reduce((sum, row) => sum + Number(row.event_count), 0)
console.log(
  `consume exited ${code} after ${terminated} sessions were terminated; events in processed_metrics: ` +
    `${count(stored.final)} (replay: ${count(expected.final)}); ` +
    (finalDiff === null && dailyDiff === null
      ? 'processed_metrics and daily_inventory equal replay’s'
      : `first difference: ${JSON.stringify(finalDiff ?? dailyDiff).slice(0, 400)}`) +
    ` (its log: ${logFile})`,
)
await admin.end()
await dropDatabase(database)
