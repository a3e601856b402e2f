// `invpipe generate`: deterministic synthetic inventory events for demos, tests and benchmarks.
import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { defineCommand } from 'citty'
import { loadSettings, settingArgs } from '../config.ts'
import { ServiceError, UsageError } from '../errors.ts'
import { fileSink, stdoutSink, type TextSink, temporaryPath, writeJsonl } from '../generate/jsonl-writer.ts'
import { PartialProduceError, produceGenerated } from '../generate/kafka-writer.ts'
import {
  checkGenerateOptions,
  DEFAULT_GENERATE_OPTIONS,
  type GenerateOptions,
  MAX_EVENTS,
} from '../generate/options.ts'
import { writeParquet } from '../generate/parquet-writer.ts'
import type { GeneratedLine } from '../generate/record.ts'
import { generateEvents } from '../generate/stream.ts'
import { ensureTopics, KAFKA_SETTINGS, type KafkaSettings, kafkaClient } from '../kafka/client.ts'
import { checkOutputs } from './paths.ts'
import { removeOnInterrupt } from './signals.ts'

type OutputFormat = 'jsonl' | 'parquet'

type OutputTarget =
  /** path null: standard output. */
  | { kind: 'file'; path: string | null; format: OutputFormat }
  | { kind: 'kafka'; topic: string; settings: KafkaSettings }

const defaults = DEFAULT_GENERATE_OPTIONS

/** A bad option or an unwritable output: the entry point prints the message as one line, no stack. */
export const generateCommand = defineCommand({
  meta: {
    name: 'generate',
    description:
      'Write deterministic, realistic synthetic inventory events (JSONL, Parquet, or a Kafka topic).\n' +
      'Examples:\n  invpipe generate --events 100000 --output events.jsonl\n' +
      '  KAFKA_BOOTSTRAP_SERVERS=localhost:9092 invpipe generate --events 100000 --topic inventory-events\n' +
      '  invpipe generate --skus 2500 --warehouses 4 --days 90 --malformed-rate 0.01 --seed 7 --output events.parquet',
  },
  args: {
    events: {
      type: 'string',
      valueHint: 'N',
      description: `Exact number of lines to write, at most ${MAX_EVENTS}`,
      default: String(defaults.events),
    },
    skus: { type: 'string', valueHint: 'N', description: 'Number of SKUs', default: String(defaults.skus) },
    warehouses: {
      type: 'string',
      valueHint: 'N',
      description: 'Number of warehouses (items = skus × warehouses)',
      default: String(defaults.warehouses),
    },
    days: {
      type: 'string',
      valueHint: 'N',
      description: 'History length in days',
      default: String(defaults.days),
    },
    start: {
      type: 'string',
      valueHint: 'YYYY-MM-DD',
      description: 'First day of the history, YYYY-MM-DD (UTC)',
      default: defaults.start,
    },
    seed: {
      type: 'string',
      valueHint: 'N',
      description: 'Random seed; the same seed gives the same bytes',
      default: String(defaults.seed),
    },
    'malformed-rate': {
      type: 'string',
      valueHint: 'R',
      description: 'Share of lines that are malformed (0–1)',
      default: String(defaults.malformedRate),
    },
    'duplicate-rate': {
      type: 'string',
      valueHint: 'R',
      description: 'Share of events sent twice (0–1)',
      default: String(defaults.duplicateRate),
    },
    'late-rate': {
      type: 'string',
      valueHint: 'R',
      description: 'Share of events that arrive out of order (0–1)',
      default: String(defaults.lateRate),
    },
    output: {
      type: 'string',
      description: 'Output file, .jsonl or .parquet; - or absent: JSONL to standard output',
      valueHint: 'FILE',
    },
    topic: {
      type: 'string',
      description:
        'Produce to this Kafka topic instead (one message per line, keyed {sku}:{warehouse_id}; created with 3 partitions when missing; KAFKA_BOOTSTRAP_SERVERS and the security settings apply)',
      valueHint: 'TOPIC',
    },
    ...settingArgs(KAFKA_SETTINGS),
  },
  async run({ args }) {
    const options = parseOptions(args)
    const target = parseTarget(args)
    const started = performance.now()
    const lines = generateEvents(options)
    const written = await writeLines(lines, target)
    const seconds = (performance.now() - started) / 1000
    const items = options.skus * options.warehouses
    const early = written < options.events ? ' (the reader closed the output early)' : ''
    process.stderr.write(
      `generate: ${written} events, ${items} items, ${describeTarget(target)}, ${seconds.toFixed(2)} s${early}\n`,
    )
  },
})

/** Turns the flag strings into options; the first bad value is a one-line error naming its flag. */
function parseOptions(args: Record<string, unknown>): GenerateOptions {
  const options: GenerateOptions = {
    events: parseWholeNumber('--events', args.events),
    skus: parseWholeNumber('--skus', args.skus),
    warehouses: parseWholeNumber('--warehouses', args.warehouses),
    days: parseWholeNumber('--days', args.days),
    start: String(args.start),
    seed: parseWholeNumber('--seed', args.seed),
    malformedRate: parseRate('--malformed-rate', args['malformed-rate']),
    duplicateRate: parseRate('--duplicate-rate', args['duplicate-rate']),
    lateRate: parseRate('--late-rate', args['late-rate']),
  }
  const problem = checkGenerateOptions(options)
  if (problem !== null) throw new UsageError(problem)
  return options
}

/** Digits (with _ as a separator) as a number; one too large for exactness is left to the bounds check. */
function parseWholeNumber(flag: string, value: unknown): number {
  const text = String(value).trim().replaceAll('_', '')
  if (!/^\d+$/.test(text))
    throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`)
  return Number(text)
}

function parseRate(flag: string, value: unknown): number {
  const text = String(value).trim()
  const number = /^(\d+(\.\d*)?|\.\d+)(e-?\d+)?$/i.test(text) ? Number(text) : Number.NaN
  if (!(number >= 0 && number <= 1))
    throw new UsageError(`${flag} must be a number from 0 to 1, got ${JSON.stringify(value)}`)
  return number
}

/** Where the lines go; settings are checked here, before anything connects. */
/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/

function parseTarget(args: Record<string, unknown>): OutputTarget {
  if (args.topic === undefined) return parseOutput(args.output)
  const topic = String(args.topic).trim()
  if (args.output !== undefined) throw new UsageError('--output and --topic exclude each other: choose one')
  if (!TOPIC_NAME.test(topic) || topic === '.' || topic === '..' || args.topic === true)
    throw new UsageError(
      `--topic must be a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -), got ${JSON.stringify(args.topic)}`,
    )
  return { kind: 'kafka', topic, settings: loadSettings(KAFKA_SETTINGS, args) }
}

function describeTarget(target: OutputTarget): string {
  if (target.kind === 'kafka')
    return `Kafka topic ${target.topic} at ${target.settings.kafkaBootstrapServers}`
  return `${target.path ?? 'stdout'} (${target.format})`
}

function parseOutput(value: unknown): OutputTarget {
  if (value === undefined || value === '' || value === '-' || value === true)
    return { kind: 'file', path: null, format: 'jsonl' }
  const path = String(value)
  const format = formatOf(path)
  if (format === null) {
    throw new UsageError(
      `--output must be - or a file ending in .jsonl or .parquet, got ${JSON.stringify(path)}`,
    )
  }
  checkOutputs([], [{ flag: '--output', path }])
  if (!existsSync(dirname(resolve(path)))) {
    throw new UsageError(`--output ${path}: the directory ${dirname(resolve(path))} does not exist`)
  }
  return { kind: 'file', path, format }
}

function formatOf(path: string): OutputFormat | null {
  const lower = path.toLowerCase()
  if (lower.endsWith('.jsonl')) return 'jsonl'
  if (lower.endsWith('.parquet')) return 'parquet'
  return null
}

async function writeLines(lines: Iterable<GeneratedLine>, target: OutputTarget): Promise<number> {
  if (target.kind === 'kafka') {
    const kafka = kafkaClient(target.settings, 'invpipe-generate')
    try {
      await ensureTopics(kafka, [target.topic])
      return await produceGenerated(kafka, target.topic, lines)
    } catch (error) {
      // The broker's side of things (unreachable, refused): one line naming it, not a stack.
      const where = `Kafka ${target.settings.kafkaBootstrapServers}`
      const partial = error instanceof PartialProduceError ? error : null
      const cause = partial?.cause ?? error
      if (!(cause instanceof Error && cause.name.startsWith('KafkaJS'))) throw cause
      const held =
        partial === null
          ? ''
          : `; topic ${target.topic} holds the first ${partial.produced} lines of this run`
      throw new ServiceError(`${where}: ${cause.message}${held}`)
    }
  }
  const path = target.path
  // Interrupted, the file under its temporary name goes; the output itself was never there. (Both
  // writers let the event loop turn now and then, so the handler runs.)
  const stopCleanup = path === null ? () => {} : removeOnInterrupt(() => [temporaryPath(path)])
  try {
    if (path === null) return await writeJsonl(lines, stdoutSink())
    if (target.format === 'parquet') return await writeParquet(lines, path)
    return await writeJsonl(lines, yielding(fileSink(path)))
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    // An I/O failure is about the output, not a bug: say which file, on one line.
    if (typeof code === 'string' && target.path !== null) {
      throw new UsageError(`--output ${target.path}: ${(error as Error).message}`)
    }
    throw error
  } finally {
    stopCleanup()
  }
}

/**
 * A file sink that lets the event loop turn after each chunk (2 MiB), so that Ctrl-C is handled
 * (and the temporary file removed) while a large file is written, not after.
 */
function yielding(sink: TextSink): TextSink {
  return {
    write: async (chunk) => {
      const ok = await sink.write(chunk)
      await new Promise((resolve) => setImmediate(resolve))
      return ok
    },
    close: (ok) => sink.close(ok),
  }
}
