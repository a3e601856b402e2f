// `invpipe consume` observability: /healthz and /metrics scraped over HTTP from a running consumer
// on the real stack, and the readiness rule (Kafka joined + PostgreSQL answered recently) as a unit.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { join } from 'node:path'
import { Tally } from '../src/core/tally.ts'
import { readiness, startMetricsServer, Telemetry } from '../src/observability.ts'
import { analyze } from './support/analyze.ts'
import { generatedLines } from './support/events.ts'
import { ROOT, Scenarios, startConsume, stoppedSummary } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const lines = generatedLines({ events: 2500, skus: 6, warehouses: 3, days: 45, seed: 20261126 })
const expected = analyze(lines)
const scenarios = new Scenarios()
afterAll(() => scenarios.cleanup())

/** A port nothing listens on right now. */
function freePort(): number {
  const probe = Bun.serve({ port: 0, fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

/** `invpipe health`, the Dockerfile's HEALTHCHECK, against a port. */
function healthCommand(port: number) {
  return Bun.spawnSync(['bun', join(ROOT, 'src/main.ts'), 'health', '--metrics-port', String(port)])
}

/** The body of /healthz. */
interface Health {
  status: string
  reasons?: string[]
  kafka: { joined: boolean }
}

interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** The samples of a Prometheus text exposition (comments skipped). */
function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (match === null) throw new Error(`not a Prometheus sample: ${line}`)
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[key as string] = value as string
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) })
  }
  return samples
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0)

async function waitFor<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  while (Date.now() < deadline) {
    try {
      const result = await attempt()
      if (result !== undefined) return result
    } catch (error) {
      last = error
    }
    await Bun.sleep(250)
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`)
}

describe('consume serves /healthz and /metrics', () => {
  test('ready while running; counters reach the produced totals; lag reaches 0; exit 0 on SIGTERM', async () => {
    const port = freePort()
    const run = await scenarios.prepare('obs', lines, 100, {
      METRICS_PORT: String(port),
      PARQUET_ROWS_PER_FILE: '20',
    })
    const proc = startConsume(run, [])
    const stderr = new Response(proc.stderr).text()
    const base = `http://127.0.0.1:${port}`
    try {
      const health = await waitFor('/healthz 200', async () => {
        const response = await fetch(`${base}/healthz`)
        return response.status === 200 ? ((await response.json()) as Health) : undefined
      })
      expect(health.status).toBe('ok')
      expect(health.kafka.joined).toBe(true)
      // The container HEALTHCHECK command agrees.
      expect(healthCommand(port).exitCode).toBe(0)

      const samples = await waitFor('every event counted', async () => {
        const response = await fetch(`${base}/metrics`)
        expect(response.status).toBe(200)
        expect(response.headers.get('content-type')).toContain('text/plain')
        const parsed = parseMetrics(await response.text())
        const lag = parsed.filter((s) => s.name === 'invpipe_consumer_lag')
        const done =
          value(parsed, 'invpipe_events_consumed_total') >= lines.length &&
          lag.length === 3 &&
          lag.every((s) => s.value === 0) &&
          value(parsed, 'invpipe_alerts_sent_total') >= expected.alerts.length &&
          value(parsed, 'invpipe_parquet_files_written_total') > 0
        return done ? parsed : undefined
      })

      expect(expected.counts.read).toBe(lines.length)
      expect(value(samples, 'invpipe_events_consumed_total')).toBe(lines.length)
      const accepted = value(samples, 'invpipe_events_accepted_total')
      const rejected = value(samples, 'invpipe_events_rejected_total')
      expect(accepted + rejected).toBe(lines.length)
      expect(accepted).toBe(expected.counts.accepted)
      expect(value(samples, 'invpipe_events_duplicates_total')).toBe(expected.counts.duplicates)
      const byCode: Record<string, number> = {}
      for (const reject of expected.rejects) byCode[reject.code] = (byCode[reject.code] ?? 0) + 1
      const rejectedByCode = Object.fromEntries(
        samples
          .filter((s) => s.name === 'invpipe_events_rejected_total')
          .map((s) => [s.labels.code as string, s.value]),
      )
      expect(Object.keys(byCode).length).toBeGreaterThan(1)
      expect(rejectedByCode).toEqual(byCode)
      expect(value(samples, 'invpipe_dead_letters_sent_total')).toBe(expected.rejects.length)
      expect(value(samples, 'invpipe_alerts_sent_total')).toBeGreaterThan(0)
      expect(value(samples, 'invpipe_alerts_sent_total')).toBe(expected.alerts.length)
      expect(value(samples, 'invpipe_batch_duration_seconds_count')).toBeGreaterThan(0)
      expect(value(samples, 'invpipe_batch_duration_seconds_bucket', { le: '+Inf' })).toBe(
        value(samples, 'invpipe_batch_duration_seconds_count'),
      )
      expect(value(samples, 'invpipe_parquet_files_written_total')).toBeGreaterThan(0)
      for (const sink of ['postgres', 'redis', 'kafka', 'parquet']) {
        expect(samples.some((s) => s.name === 'invpipe_sink_errors_total' && s.labels.sink === sink)).toBe(
          true,
        )
        expect(samples.some((s) => s.name === 'invpipe_sink_retries_total' && s.labels.sink === sink)).toBe(
          true,
        )
      }
      // No count of errors is asserted: a real broker may answer a first request for a new topic with a
      // transient error, which is retried; that every event arrived is asserted above.

      expect((await fetch(`${base}/nowhere`)).status).toBe(404)
    } finally {
      proc.kill('SIGTERM')
    }
    expect(await proc.exited).toBe(0)
    const summary = stoppedSummary(await stderr)
    expect(summary?.read).toBe(lines.length)
    expect(healthCommand(port).exitCode).toBe(1)
  }, 180_000)
})

describe('readiness', () => {
  const now = 1_000_000
  const healthy = () => ({
    kafka: { joined: true, lastSeenAt: now - 1_000 },
    postgres: { lastOkAt: now - 2_000, lastError: null },
  })

  test('ready only while the consumer is in its group and PostgreSQL answered within 10 s', () => {
    expect(readiness(healthy(), now)).toEqual({ ready: true, reasons: [] })

    const notJoined = healthy()
    notJoined.kafka.joined = false
    expect(readiness(notJoined, now).ready).toBe(false)
    expect(readiness(notJoined, now).reasons).toEqual(['kafka: consumer not in its group'])

    const silent = healthy()
    silent.kafka.lastSeenAt = now - 60_000
    expect(readiness(silent, now).reasons[0]).toStartWith('kafka: no sign of life')

    const neverReached = healthy()
    neverReached.postgres = { lastOkAt: null, lastError: 'connect ECONNREFUSED' } as never
    expect(readiness(neverReached, now).reasons).toEqual(['postgres: not reached yet (connect ECONNREFUSED)'])

    const stale = healthy()
    stale.postgres.lastOkAt = now - 10_001
    expect(readiness(stale, now).reasons[0]).toStartWith('postgres: no successful check for over 10000 ms')
    stale.postgres.lastOkAt = now - 10_000
    expect(readiness(stale, now).ready).toBe(true)

    const both = { kafka: { joined: false, lastSeenAt: null }, postgres: { lastOkAt: null, lastError: null } }
    expect(readiness(both, now).reasons).toHaveLength(2)
  })

  test('a failing sink (Redis, Parquet, the producer, commits) makes it not ready, with the sink and its error', () => {
    const state = {
      ...healthy(),
      sinks: {
        redis: {
          failingSince: now - 12_000,
          failures: 4,
          lastError: 'WRONGPASS invalid password',
          lastOkAt: null,
        },
        parquet: { failingSince: null, failures: 0, lastError: null, lastOkAt: now - 500 },
      },
    }
    const { ready, reasons } = readiness(state, now)
    expect(ready).toBe(false)
    expect(reasons).toEqual([
      'redis: Redis (metrics hashes) failing for 12 s (4 failures): WRONGPASS invalid password',
    ])
  })

  test('an outage is one warning with its cause and one line when it ends, with the count; /healthz shows the sink', async () => {
    let clock = now
    const telemetry = new Telemetry(() => clock)
    const server = startMetricsServer(telemetry, 0)
    if (server === null) throw new Error('metrics server did not start')
    const written: string[] = []
    const write = process.stderr.write
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk))
      return true
    }) as typeof process.stderr.write
    try {
      telemetry.health.kafka = { joined: true, lastSeenAt: clock }
      telemetry.health.postgres = { lastOkAt: clock, lastError: null }
      for (let i = 0; i < 5; i++) {
        telemetry.sinkFailed(
          'parquet',
          Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }),
        )
        clock += 1_000
      }
      const response = await fetch(`http://127.0.0.1:${server.port}/healthz`)
      expect(response.status).toBe(503)
      const body = (await response.json()) as {
        sinks: Record<string, Record<string, unknown>>
        reasons: string[]
      }
      expect(body.sinks.parquet?.state).toBe('failing')
      expect(body.sinks.parquet?.failures).toBe(5)
      expect(body.sinks.parquet?.error).toBe('no space left on device (ENOSPC)')
      expect(body.sinks.redis?.state).toBe('ok')
      expect(body.reasons[0]).toStartWith(
        'parquet: Parquet files (metrics archive) failing for 5 s (5 failures)',
      )
      telemetry.sinkOk('parquet')
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200)
    } finally {
      process.stderr.write = write
      await server.stop()
      telemetry.stop()
    }
    const lines = written
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
    const warnings = lines.filter((l) => l.level === 'warn')
    expect(warnings).toHaveLength(1)
    expect(warnings[0].message).toContain('ENOSPC')
    const ended = lines.filter((l) => l.level === 'info' && /working again/.test(l.message))
    expect(ended).toHaveLength(1)
    expect(ended[0].failures).toBe(5)
    expect(ended[0].outage_seconds).toBe(5)
  })

  test('over HTTP: 503 with the reasons until both are up, then 200; hooks show in /metrics', async () => {
    let clock = now
    const telemetry = new Telemetry(() => clock)
    const server = startMetricsServer(telemetry, 0)
    if (server === null) throw new Error('metrics server did not start')
    const base = `http://127.0.0.1:${server.port}`
    try {
      let response = await fetch(`${base}/healthz`)
      expect(response.status).toBe(503)
      const body = (await response.json()) as Health
      expect(body.status).toBe('unavailable')
      expect(body.reasons).toHaveLength(2)

      telemetry.health.kafka = { joined: true, lastSeenAt: clock }
      response = await fetch(`${base}/healthz`)
      expect(response.status).toBe(503)
      expect(((await response.json()) as Health).reasons).toEqual(['postgres: not reached yet'])

      telemetry.health.postgres = { lastOkAt: clock, lastError: null }
      response = await fetch(`${base}/healthz`)
      expect(response.status).toBe(200)
      expect(((await response.json()) as Health).status).toBe('ok')

      clock += 15_000 // no PostgreSQL check for 15 s
      telemetry.health.kafka.lastSeenAt = clock
      expect((await fetch(`${base}/healthz`)).status).toBe(503)

      const tally = new Tally()
      tally.countOutcome('applied')
      tally.countOutcome('duplicate')
      tally.countRejection('invalid_json')
      telemetry.batchCommitted(tally, 1)
      telemetry.partitionCommitted(2, '10', 7)
      telemetry.sinkError('redis')
      telemetry.sinkRetry('redis')
      telemetry.alertsSent(4)
      await telemetry.parquetDrain(async () => ['a.parquet', 'b.parquet'])
      await expect(
        telemetry.parquetDrain(async () => {
          throw new Error('disk full')
        }),
      ).rejects.toThrow('disk full')
      await telemetry.parquetDrain(async () => [])
      telemetry.batchFinished(0.2)
      const samples = parseMetrics(await (await fetch(`${base}/metrics`)).text())
      expect(value(samples, 'invpipe_events_consumed_total')).toBe(3)
      expect(value(samples, 'invpipe_events_accepted_total')).toBe(2)
      expect(value(samples, 'invpipe_events_duplicates_total')).toBe(1)
      expect(value(samples, 'invpipe_events_rejected_total', { code: 'invalid_json' })).toBe(1)
      expect(value(samples, 'invpipe_dead_letters_sent_total')).toBe(1)
      expect(value(samples, 'invpipe_consumer_lag', { partition: '2' })).toBe(3)
      expect(value(samples, 'invpipe_sink_errors_total', { sink: 'redis' })).toBe(1)
      expect(value(samples, 'invpipe_sink_retries_total', { sink: 'redis' })).toBe(1)
      expect(value(samples, 'invpipe_sink_errors_total', { sink: 'parquet' })).toBe(1)
      expect(value(samples, 'invpipe_sink_retries_total', { sink: 'parquet' })).toBe(1)
      expect(value(samples, 'invpipe_alerts_sent_total')).toBe(4)
      expect(value(samples, 'invpipe_parquet_files_written_total')).toBe(2)
      expect(value(samples, 'invpipe_batch_duration_seconds_count')).toBe(1)
      expect(value(samples, 'invpipe_batch_duration_seconds_bucket', { le: '0.25' })).toBe(1)
      expect(value(samples, 'invpipe_batch_duration_seconds_bucket', { le: '0.1' })).toBe(0)
    } finally {
      await server.stop()
      telemetry.stop()
    }
  })
})
