// `bun run bench:consume`: end-to-end events/s of `invpipe consume --drain` from a pre-filled topic
// through every sink (PostgreSQL, Redis, Parquet, alert topic), at BATCH_SIZE 100 and 5000 with the
// default COMMIT_INTERVAL_MS, beside what Apache Kafka's own consumer (ConsumerPerformance, from the
// stack's jars) and kafkajs alone read of the same topic in the same run; and the CPU time invpipe and
// PostgreSQL spent per 1M events. Two rates of consume: end to end (the process's whole life) and its
// reading phase, which leaves out start-up and the final flush as ConsumerPerformance's fetch rate
// leaves out its own start-up and group join. Needs the local stack (bash scripts/stack/stack.sh up). A benchmark,
// not a test: it prints figures and asserts nothing.
//
// CPU: invpipe's from the process's own rusage; PostgreSQL's as utime + stime from /proc of every
// postgres process, plus their cutime + cstime (the backends that exited meanwhile, counted by the
// postmaster), read before and after the run; Redis's and the broker's (java) the same way. That
// counts whatever else uses those servers meanwhile: run it on a quiet machine, or read the figures
// as upper bounds.
//
// COMMIT_INTERVAL_MS, when set, is passed to consume (the default otherwise); BENCH_CPU_PROF=DIR
// writes consume's CPU profile there (test/support/stack.ts).
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { BOOTSTRAP, createTopic, produceLines, testKafka } from '../test/support/kafka.ts'
import { dropDatabase, freshDatabase, startConsume } from '../test/support/stack.ts'
import { BENCH_OUT, benchEvents, ROOT, sampleHighWaterMark } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 300_000)
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? '100,5000').split(',').map(Number)
const KAFKA_LIBS = join(ROOT, '.stack', 'kafka', 'libs')
const TICKS_PER_SECOND = 100

async function eventLines(): Promise<string[]> {
  return readFileSync(await benchEvents(EVENTS, 2_500, 4), 'utf8')
    .split('\n')
    .slice(0, -1)
}

/** Apache Kafka's own consumer reading the whole topic: its fetch rate (messages/s, rebalance excluded). */
function consumerPerformanceRate(topic: string, total: number): number | null {
  if (!existsSync(KAFKA_LIBS)) return null
  const run = Bun.spawnSync([
    'java',
    '-Xmx512m',
    '-cp',
    `${KAFKA_LIBS}/*`,
    'org.apache.kafka.tools.ConsumerPerformance',
    ...['--bootstrap-server', BOOTSTRAP, '--topic', topic, '--messages', String(total)],
    ...['--group', `perf-${topic}`, '--timeout', '60000'],
  ])
  // A header line of names and a line of values, comma-separated.
  const [names, values] = run.stdout
    .toString()
    .trim()
    .split('\n')
    .slice(-2)
    .map((line) => line.split(',').map((field) => field.trim()))
  const index = names?.indexOf('fetch.nMsg.sec') ?? -1
  return index < 0 ? null : Number(values?.[index])
}

/** kafkajs alone: a consumer group that only counts the messages of the topic. */
async function kafkajsRate(topic: string, total: number): Promise<number> {
  const consumer = testKafka().consumer({ groupId: `raw-${topic}` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  let firstAt = 0
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        if (firstAt === 0) firstAt = performance.now()
        seen += batch.messages.length
        if (seen >= total) resolve(performance.now())
      },
    })
  })
  const lastAt = await done
  await consumer.disconnect()
  return total / ((lastAt - firstAt) / 1000)
}

/**
 * consume's reading phase, as ConsumerPerformance's fetch rate counts its own (without start-up and
 * the group join): from the last partition loaded to the drain's finding that PostgreSQL holds every
 * offset at the topic's end (all analytics, alerts and Parquet rows committed; found up to half a
 * second late). Seconds, from consume's own log; null when the log lacks either line.
 */
function readingSeconds(stderr: string): number | null {
  let loaded: number | null = null
  let committed: number | null = null
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('{')) continue
    const entry = JSON.parse(line) as { time: string; message: string }
    if (entry.message === 'partition loaded') loaded = Date.parse(entry.time)
    else if (entry.message.startsWith('--drain: every partition consumed')) committed = Date.parse(entry.time)
  }
  return loaded === null || committed === null ? null : (committed - loaded) / 1000
}

/** utime + stime (and, with `children`, cutime + cstime) of one process, in clock ticks. */
function processTicks(pid: string, children: boolean): { command: string; ticks: number } | null {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null // gone meanwhile
  }
  // Fields after the command: state ppid … utime(14) stime(15) cutime(16) cstime(17), 1-based.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const own = Number(fields[11]) + Number(fields[12])
  return {
    command: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    ticks: own + (children ? Number(fields[13]) + Number(fields[14]) : 0),
  }
}

/** CPU seconds the processes named `command` have used so far, with what their exited children used. */
function cpuSeconds(command: string): number {
  let ticks = 0
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const found = processTicks(pid, true)
    if (found?.command === command) ticks += found.ticks
  }
  return ticks / TICKS_PER_SECOND
}

/** The stack's broker (its pid file), not any other Java process. */
function brokerCpuSeconds(): number {
  const pidFile = join(ROOT, '.stack', 'kafka', 'kafka.pid')
  const pid = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : ''
  return (processTicks(pid, false)?.ticks ?? Number.NaN) / TICKS_PER_SECOND
}

/** The services' CPU seconds so far: PostgreSQL (with its exited backends), Redis, the broker. */
function servicesCpu() {
  return { postgres: cpuSeconds('postgres'), redis: cpuSeconds('redis-server'), kafka: brokerCpuSeconds() }
}

const lines = await eventLines()
const topic = `bench-events-${Date.now().toString(36)}`
const cores = availableParallelism()
console.log(`consume benchmark: ${lines.length} events over 10,000 items, ${cores} cores, Bun ${Bun.version}`)
await createTopic(topic, 3)
let started = performance.now()
await produceLines(topic, lines)
console.log(`produced to ${topic} (3 partitions) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
const reference = consumerPerformanceRate(topic, lines.length)
console.log(
  reference === null
    ? 'Kafka ConsumerPerformance: not run (no Kafka jars in .stack/kafka/libs)'
    : `Kafka ConsumerPerformance: ${Math.round(reference).toLocaleString('en')} events/s (fetch rate)`,
)
const raw = await kafkajsRate(topic, lines.length)
const share = (rate: number, of: number | null) => (of === null ? '' : `${((100 * rate) / of).toFixed(1)} %`)
console.log(
  `kafkajs alone: ${Math.round(raw).toLocaleString('en')} events/s (${share(raw, reference)} of ConsumerPerformance)`,
)

for (const batchSize of BATCH_SIZES) {
  const id = `bench-${batchSize}-${Date.now().toString(36)}`
  const database = await freshDatabase(id)
  const dataDir = join(BENCH_OUT, id)
  const before = servicesCpu()
  started = performance.now()
  const proc = startConsume({
    topic,
    database,
    group: `group-${id}`,
    alertTopic: `alerts-${id}`,
    dlqTopic: `dlq-${id}`,
    dataDir,
    batchSize,
    env: process.env.COMMIT_INTERVAL_MS ? { COMMIT_INTERVAL_MS: process.env.COMMIT_INTERVAL_MS } : {},
  })
  const sampler = sampleHighWaterMark(proc.pid)
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  const seconds = (performance.now() - started) / 1000
  const after = servicesCpu()
  const rss = (await sampler.stop()) / 1048576
  if (code !== 0) throw new Error(`consume failed:\n${stderr.slice(-2000)}`)
  const usage = proc.resourceUsage()
  const invpipeCpu = usage === undefined ? Number.NaN : Number(usage.cpuTime.total) / 1e6
  const perMillion = (cpu: number) => ((cpu * 1_000_000) / lines.length).toFixed(1)
  const rate = lines.length / seconds
  const reading = readingSeconds(stderr)
  const readingRate = reading === null ? Number.NaN : lines.length / reading
  console.log(
    `consume BATCH_SIZE ${String(batchSize).padStart(4)}: ${Math.round(rate).toLocaleString('en')} events/s end to end ` +
      `(${seconds.toFixed(1)} s incl. start-up and final flush), ${share(rate, reference)} of ConsumerPerformance, ` +
      `${share(rate, raw)} of kafkajs; reading phase (partitions loaded → every offset committed, ` +
      `${reading?.toFixed(1)} s) ${Math.round(readingRate).toLocaleString('en')} events/s, ` +
      `${share(readingRate, reference)} of ConsumerPerformance; CPU per 1M events: invpipe ${perMillion(invpipeCpu)} s, ` +
      `PostgreSQL ${perMillion(after.postgres - before.postgres)} s, Redis ${perMillion(after.redis - before.redis)} s, ` +
      `broker ${perMillion(after.kafka - before.kafka)} s; ` +
      `peak RSS ${rss.toFixed(0)} MiB`,
  )
  await dropDatabase(database)
  rmSync(dataDir, { recursive: true, force: true })
}
