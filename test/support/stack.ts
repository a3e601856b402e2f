// The real services for integration tests (started by scripts/stack/stack.sh): a database of its
// own per scenario, and `invpipe consume` run as the separate process it is in production.
import { join } from 'node:path'
import postgres from 'postgres'
import { BOOTSTRAP } from './kafka.ts'

export const ROOT = join(import.meta.dir, '..', '..')

const pgEnv = {
  host: process.env.POSTGRES_HOST ?? 'localhost',
  port: Number(process.env.POSTGRES_PORT ?? 5432),
  username: process.env.POSTGRES_USER ?? 'inventory_user',
  password: process.env.POSTGRES_PASSWORD,
}

export function connect(database: string) {
  return postgres({
    ...pgEnv,
    database,
    max: 2,
    onnotice: () => {},
    types: {
      bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
    },
  })
}

/** Creates an empty database for one scenario and returns its name. */
export async function freshDatabase(label: string): Promise<string> {
  const name = `invpipe_t_${label.replace(/[^a-z0-9]/g, '_')}`
  const admin = connect(process.env.POSTGRES_DB ?? 'inventory')
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.unsafe(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  return name
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = connect(process.env.POSTGRES_DB ?? 'inventory')
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await admin.end()
  }
}

export interface ConsumeRun {
  topic: string
  database: string
  group: string
  alertTopic: string
  dlqTopic: string
  dataDir: string
  batchSize: number
  env?: Record<string, string>
}

export function consumeEnv(run: ConsumeRun): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    KAFKA_BOOTSTRAP_SERVERS: BOOTSTRAP,
    KAFKA_TOPIC: run.topic,
    KAFKA_GROUP_ID: run.group,
    ALERT_TOPIC: run.alertTopic,
    DLQ_TOPIC: run.dlqTopic,
    POSTGRES_DB: run.database,
    DATA_DIR: run.dataDir,
    BATCH_SIZE: String(run.batchSize),
    ...run.env,
  }
}

/** Starts `invpipe consume` (with --drain unless told otherwise) as its own process. */
export function startConsume(run: ConsumeRun, args: string[] = ['--drain']) {
  return Bun.spawn(['bun', join(ROOT, 'src/main.ts'), 'consume', ...args], {
    env: consumeEnv(run),
    stdout: 'pipe',
    stderr: 'pipe',
  })
}

/** The JSON log line of the consumer's exit summary. */
export function stoppedSummary(stderr: string): Record<string, number> | null {
  const line = stderr
    .split('\n')
    .reverse()
    .find((l) => l.includes('"message":"stopped"'))
  return line ? JSON.parse(line) : null
}
