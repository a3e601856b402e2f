import { afterAll, describe, expect, setDefaultTimeout, spyOn, test } from 'bun:test'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCommand } from 'citty'
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet'
import { generateCommand } from '../src/commands/generate.ts'
import { itemKey, parseEvent, validateEvent } from '../src/core/event.ts'
import { messageKey } from '../src/generate/kafka-writer.ts'
import { MALFORMED_REASONS } from '../src/generate/malformed.ts'
import { DEFAULT_GENERATE_OPTIONS, type GenerateOptions } from '../src/generate/options.ts'
import { writeParquet } from '../src/generate/parquet-writer.ts'
import { type GeneratedLine, lineText } from '../src/generate/record.ts'
import { generateEvents } from '../src/generate/stream.ts'
import { BOOTSTRAP, readTopic } from './support/kafka.ts'
import { ROOT } from './support/stack.ts'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const dir = mkdtempSync(join(tmpdir(), 'invpipe-generate-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function optionsWith(overrides: Partial<GenerateOptions>): GenerateOptions {
  return { ...DEFAULT_GENERATE_OPTIONS, ...overrides }
}

function lines(overrides: Partial<GenerateOptions>): GeneratedLine[] {
  return Array.from(generateEvents(optionsWith(overrides)))
}

function jsonl(overrides: Partial<GenerateOptions>): string {
  return lines(overrides)
    .map((line) => `${lineText(line)}\n`)
    .join('')
}

describe('determinism', () => {
  const noisy = { events: 5000, malformedRate: 0.05, duplicateRate: 0.05, lateRate: 0.05 }

  test('the same seed gives identical bytes', () => {
    expect(jsonl({ ...noisy, seed: 7 })).toBe(jsonl({ ...noisy, seed: 7 }))
  })

  test('a different seed gives different events', () => {
    const stripIds = (text: string) => text.replace(/"event_id":"[^"]*"/g, '')
    expect(stripIds(jsonl({ ...noisy, seed: 7 }))).not.toBe(stripIds(jsonl({ ...noisy, seed: 8 })))
  })
})

describe('line count', () => {
  for (const overrides of [
    { events: 0 },
    { events: 1 },
    { events: 7, malformedRate: 1 },
    { events: 1234, duplicateRate: 1, lateRate: 1 },
    { events: 3000, days: 1 },
    { events: 500, skus: 5000, warehouses: 4 },
  ]) {
    test(`exactly ${overrides.events} lines for ${JSON.stringify(overrides)}`, () => {
      const text = jsonl(overrides)
      expect(text.length === 0 ? 0 : text.split('\n').length - 1).toBe(overrides.events)
    })
  }
})

describe('malformed lines', () => {
  const generated = lines({ events: 20_000, malformedRate: 0.1 })
  const malformed = generated.filter((line) => line.kind === 'malformed')

  test('make up about the requested share of lines', () => {
    const share = malformed.length / generated.length
    expect(share).toBeGreaterThan(0.09)
    expect(share).toBeLessThan(0.11)
  })

  test('are each rejected, with the code their kind calls for', () => {
    for (const line of malformed) {
      const result = parseEvent(line.text)
      expect(result.ok).toBe(false)
      if (!result.ok)
        expect({ reason: line.reason, code: result.rejection.code }).toEqual({
          reason: line.reason,
          code: line.expectedCode,
        })
    }
  })

  test('cover every kind of damage', () => {
    expect(new Set(malformed.map((line) => line.reason))).toEqual(new Set(MALFORMED_REASONS))
  })

  test('have a Parquet row that is rejected too', () => {
    for (const line of malformed) {
      expect(validateEvent(line.row).ok).toBe(false)
    }
  })
})

describe('well-formed events', () => {
  const generated = lines({ events: 20_000, duplicateRate: 0.02, lateRate: 0.05 })
  const events = generated.filter((line) => line.kind === 'event')

  test('all satisfy SPEC §2', () => {
    for (const line of events) {
      const result = parseEvent(lineText(line))
      if (!result.ok) throw new Error(`${lineText(line)}: ${result.rejection.message}`)
    }
  })

  test('are serialised exactly as JSON.stringify would', () => {
    for (const line of events) expect(lineText(line)).toBe(JSON.stringify(line.record))
  })

  test('use every event type, timestamp form and optional field', () => {
    const types = new Set(events.map((line) => line.record.event_type))
    expect([...types].sort()).toEqual(['adjustment', 'restock', 'return', 'sale', 'stock_count'])
    const forms = new Set(
      events.map(({ record }) =>
        typeof record.timestamp === 'number' ? 'epoch' : record.timestamp.slice(19),
      ),
    )
    expect([...forms].sort()).toEqual(['+02:00', '-05:00', 'Z', 'epoch'])
    expect(events.some((line) => line.record.on_hand !== undefined)).toBe(true)
    expect(events.some((line) => line.record.lead_time_days !== undefined)).toBe(true)
    expect(events.some((line) => line.record.event_type === 'adjustment' && line.record.quantity < 0)).toBe(
      true,
    )
  })

  test('have unique ids apart from deliberate duplicates', () => {
    const originals = events.filter((line) => !line.duplicate).map((line) => line.record.event_id)
    expect(new Set(originals).size).toBe(originals.length)
  })

  test('duplicates repeat an earlier line of the same item, byte for byte, shortly after', () => {
    const earlier = new Map<string, { text: string; position: number }>()
    let duplicates = 0
    generated.forEach((line, position) => {
      if (line.kind !== 'event') return
      const key = `${itemKey(line.record.sku, line.record.warehouse_id)} ${line.record.event_id}`
      const original = earlier.get(key)
      if (line.duplicate) {
        duplicates++
        expect(original?.text).toBe(lineText(line))
        expect(position - (original?.position ?? 0)).toBeLessThanOrEqual(60)
      } else {
        expect(original).toBeUndefined()
        earlier.set(key, { text: lineText(line), position })
      }
    })
    expect(duplicates).toBeGreaterThan(200)
  })

  test('late events arrive after later-timed ones; the rest are in time order', () => {
    let latest = 0
    let outOfOrder = 0
    for (const line of events) {
      if (line.ms < latest) {
        outOfOrder++
        expect(line.late || line.duplicate).toBe(true)
      }
      if (!line.late && !line.duplicate) latest = Math.max(latest, line.ms)
    }
    expect(outOfOrder).toBeGreaterThan(500)
  })
})

test('every item of a 10-item generation starts with a stock count', () => {
  const generated = lines({ events: 2000, skus: 5, warehouses: 2, lateRate: 0, duplicateRate: 0 })
  const firstType = new Map<string, string>()
  for (const line of generated) {
    if (line.kind !== 'event') continue
    const key = itemKey(line.record.sku, line.record.warehouse_id)
    if (!firstType.has(key)) firstType.set(key, line.record.event_type)
  }
  expect(firstType.size).toBe(10)
  expect(new Set(firstType.values())).toEqual(new Set(['stock_count']))
})

test('a Parquet file holds the same rows, with typed columns', async () => {
  const path = join(dir, 'events.parquet')
  const options = optionsWith({ events: 3000, malformedRate: 0.05 })
  expect(await writeParquet(generateEvents(options), path)).toBe(3000)
  const rows = (await parquetReadObjects({ file: await asyncBufferFromFile(path) })) as Record<
    string,
    unknown
  >[]
  const generated = Array.from(generateEvents(options))
  expect(rows.length).toBe(3000)
  expect(Object.keys(rows[0] as object)).toEqual([
    'event_id',
    'event_type',
    'sku',
    'warehouse_id',
    'quantity',
    'timestamp',
    'on_hand',
    'lead_time_days',
  ])
  rows.forEach((row, index) => {
    const line = generated[index] as GeneratedLine
    // Epoch milliseconds keep their original form, as a decimal string.
    const timestamp = /^\d+$/.test(String(row.timestamp)) ? Number(row.timestamp) : row.timestamp
    expect(validateEvent({ ...row, timestamp }).ok).toBe(line.kind === 'event')
    if (line.kind === 'event') expect(row.event_id).toBe(line.record.event_id)
  })
})

describe('the command', () => {
  async function run(args: string[]): Promise<string> {
    const stderr = spyOn(process.stderr, 'write').mockImplementation(() => true)
    try {
      await runCommand(generateCommand, { rawArgs: args })
      return stderr.mock.calls.map((call) => String(call[0])).join('')
    } finally {
      stderr.mockRestore()
    }
  }

  test('writes exactly --events lines and a one-line summary', async () => {
    const path = join(dir, 'events.jsonl')
    const summary = await run(['--events', '321', '--seed', '3', '--output', path])
    expect(readFileSync(path, 'utf8').split('\n').length - 1).toBe(321)
    expect(summary).toMatch(/^generate: 321 events, 200 items, .*events\.jsonl \(jsonl\), [\d.]+ s\n$/)
  })

  for (const [args, message] of [
    [['--events', 'many'], '--events must be a whole number, got "many"'],
    [['--skus', '0'], '--skus must be a positive integer, got 0'],
    [['--malformed-rate', '1.5'], '--malformed-rate must be a number from 0 to 1, got "1.5"'],
    [['--start', '2026-02-30'], '--start must be a calendar date YYYY-MM-DD, got "2026-02-30"'],
    [['--start', '1999-12-01'], '--start with --days 90 must keep the events within the years 2000 to 2099'],
    [
      ['--output', 'events.csv'],
      '--output must be - or a file ending in .jsonl or .parquet, got "events.csv"',
    ],
    [['--topic', 't', '--output', 'e.jsonl'], '--output and --topic exclude each other'],
    [
      ['--topic', 'bad topic'],
      '--topic must be a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -), got "bad topic"',
    ],
    [['--topic', 't', '--kafka-security-protocol', 'TLS'], 'KAFKA_SECURITY_PROTOCOL'],
  ] as const) {
    test(`rejects ${args.join(' ')} with a one-line error naming the option`, async () => {
      const attempt = run([...args])
      await expect(attempt).rejects.toThrow(message)
    })
  }
})

describe('to Kafka (the local Apache Kafka broker)', () => {
  test('--topic produces every line, in order per item, keyed {sku}:{warehouse_id}', async () => {
    const topic = `generated-${Date.now().toString(36)}`
    const options = ['--events', '3000', '--skus', '20', '--warehouses', '3', '--seed', '11']
    const noise = ['--malformed-rate', '0.05', '--duplicate-rate', '0.03', '--late-rate', '0.03']
    const run = Bun.spawnSync(
      ['bun', join(ROOT, 'src/main.ts'), 'generate', ...options, ...noise, '--topic', topic],
      {
        env: { PATH: process.env.PATH ?? '', KAFKA_BOOTSTRAP_SERVERS: BOOTSTRAP },
      },
    )
    // kafkajs' timers make Bun print a TimeoutNegativeWarning (three lines) that is not ours.
    const stderr = run.stderr.toString().replace(/^\(node:\d+\) TimeoutNegativeWarning.*\n.*\n.*\n/, '')
    expect(stderr).toMatch(
      new RegExp(`^generate: 3000 events, 60 items, Kafka topic ${topic} at ${BOOTSTRAP}, [\\d.]+ s\n$`),
    )
    expect(run.exitCode).toBe(0)
    const expected = lines({
      events: 3000,
      skus: 20,
      warehouses: 3,
      seed: 11,
      malformedRate: 0.05,
      duplicateRate: 0.03,
      lateRate: 0.03,
    })
    const messages = await readTopic(topic)
    expect(messages).toHaveLength(3000)
    expect(new Set(messages.map((m) => m.partition)).size).toBe(3)
    // The generated order, restricted to one key, is the order on the topic (one partition per key).
    const byKey = (list: { key: string | null; value: string | null }[]) => {
      const groups = new Map<string, string[]>()
      for (const { key, value } of list) {
        const group = groups.get(String(key)) ?? []
        group.push(String(value))
        groups.set(String(key), group)
      }
      return groups
    }
    const produced = byKey(messages)
    const wanted = byKey(expected.map((line) => ({ key: messageKey(line), value: lineText(line) })))
    expect([...produced.keys()].sort()).toEqual([...wanted.keys()].sort())
    for (const [key, values] of wanted) {
      if (key === 'null') expect([...(produced.get(key) ?? [])].sort()).toEqual([...values].sort())
      else expect(produced.get(key)).toEqual(values)
    }
    for (const { key, value } of messages) {
      const parsed = parseEvent(String(value))
      if (parsed.ok) expect(key).toBe(itemKey(parsed.event.sku, parsed.event.warehouseId))
    }
    expect(wanted.get('null')?.length ?? 0).toBeGreaterThan(0)
  }, 60_000)
})
