// `bun run bench:consume`: end-to-end events/s of `invpipe consume --drain` from a pre-filled topic
// through every sink (PostgreSQL, Redis, Parquet, alert topic), at BATCH_SIZE 100 and 5000, beside
// the raw kafkajs consume rate of the same topic measured in the same run. Needs the local stack
// (bash scripts/stack/stack.sh up). A benchmark, not a test: it prints figures and asserts nothing.
import { readFileSync, rmSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { createTopic, produceLines, testKafka } from '../test/support/kafka.ts'
import { dropDatabase, freshDatabase, startConsume } from '../test/support/stack.ts'
import { BENCH_OUT, benchEvents, sampleHighWaterMark } from './bench-support.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000)
const BATCH_SIZES = (process.env.BENCH_BATCH_SIZES ?? '100,5000').split(',').map(Number)

async function eventLines(): Promise<string[]> {
  return readFileSync(await benchEvents(EVENTS, 2_500, 4), 'utf8')
    .split('\n')
    .slice(0, -1)
}

/** kafkajs alone: a consumer group that only counts the messages of the topic. */
async function rawConsumeRate(topic: string, total: number): Promise<number> {
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

const lines = await eventLines()
const topic = `bench-events-${Date.now().toString(36)}`
console.log(
  `consume benchmark: ${lines.length} events over 10,000 items, ${availableParallelism()} cores, Bun ${Bun.version}`,
)
await createTopic(topic, 3)
let started = performance.now()
await produceLines(topic, lines)
console.log(`produced to ${topic} (3 partitions) in ${((performance.now() - started) / 1000).toFixed(1)} s`)
const raw = await rawConsumeRate(topic, lines.length)
console.log(`raw kafkajs consume: ${Math.round(raw).toLocaleString('en')} events/s`)

for (const batchSize of BATCH_SIZES) {
  const id = `bench-${batchSize}-${Date.now().toString(36)}`
  const database = await freshDatabase(id)
  const dataDir = join(BENCH_OUT, id)
  started = performance.now()
  const proc = startConsume({
    topic,
    database,
    group: `group-${id}`,
    alertTopic: `alerts-${id}`,
    dlqTopic: `dlq-${id}`,
    dataDir,
    batchSize,
  })
  const sampler = sampleHighWaterMark(proc.pid)
  const [code, stderr] = await Promise.all([proc.exited, new Response(proc.stderr).text()])
  const rss = (await sampler.stop()) / 1048576
  const seconds = (performance.now() - started) / 1000
  if (code !== 0) throw new Error(`consume failed:\n${stderr.slice(-2000)}`)
  const rate = lines.length / seconds
  console.log(
    `consume BATCH_SIZE ${String(batchSize).padStart(4)}: ${Math.round(rate).toLocaleString('en')} events/s end to end ` +
      `(${seconds.toFixed(1)} s incl. start-up and final flush), ${((100 * rate) / raw).toFixed(0)} % of raw, peak RSS ${rss.toFixed(0)} MiB`,
  )
  await dropDatabase(database)
  rmSync(dataDir, { recursive: true, force: true })
}
