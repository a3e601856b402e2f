// --drain: consume stops once the group has consumed every partition of the topic to its end, as
// PostgreSQL's offsets record it. Group-wide on purpose: an instance that looked only at its own
// partitions could exit while a crashed member still held others that nobody had read. A check that
// fails (Kafka or PostgreSQL away) is simply tried again: the watcher never gives up.
import type { kafkaClient } from '../kafka/client.ts'
import { errorText, log } from '../log.ts'
import { withTimeout } from './failures.ts'

/**
 * How often the check runs (and at once when a commit reaches its partition's end), and how long
 * one check may take.
 */
const DRAIN_CHECK_MS = 500
const DRAIN_CHECK_TIMEOUT_MS = 15_000

export interface PartitionEnd {
  partition: number
  low: string
  high: string
}

/** Every partition consumed to its end: its stored offset at its end, or the partition empty. */
export function consumedToEnd(ends: readonly PartitionEnd[], stored: ReadonlyMap<number, number>): boolean {
  return ends.every((end) => {
    const committed = stored.get(end.partition)
    return committed === undefined ? Number(end.high) === Number(end.low) : committed >= Number(end.high)
  })
}

export interface DrainWatch {
  kafka: ReturnType<typeof kafkaClient>
  topic: string
  storedOffsets: (topic: string) => Promise<Map<number, number>>
  stopping: () => boolean
  /** Sleeps, but no longer than until the pipeline stops or a commit reaches its partition's end. */
  pause: (ms: number) => Promise<void>
  caughtUp: () => void
}

export async function watchForCaughtUp(watch: DrainWatch): Promise<void> {
  // Few retries per call: the loop itself retries, and an answer soon after an outage matters more.
  const admin = watch.kafka.admin({ retry: { initialRetryTime: 200, maxRetryTime: 1_000, retries: 2 } })
  let connected = false
  let failures = 0
  const check = async () => {
    if (!connected) {
      await admin.connect()
      connected = true
    }
    const ends = await admin.fetchTopicOffsets(watch.topic)
    return consumedToEnd(ends, await watch.storedOffsets(watch.topic))
  }
  while (!watch.stopping()) {
    await watch.pause(DRAIN_CHECK_MS)
    if (watch.stopping()) break
    try {
      const done = await withTimeout(check(), DRAIN_CHECK_TIMEOUT_MS, 'no answer')
      if (failures > 0) log.info('--drain: end-of-topic check working again', { failed_checks: failures })
      failures = 0
      if (done) {
        log.info('--drain: every partition consumed to its end; stopping')
        watch.caughtUp()
      }
    } catch (error) {
      // The service's outage is reported by the pipeline (one warning); this is its echo.
      failures++
      log.debug('--drain: end-of-topic check failed; retrying', { error: errorText(error), failures })
      if (connected) await admin.disconnect().catch(() => {})
      connected = false
    }
  }
  if (connected) await admin.disconnect().catch(() => {})
}
