// Servers of a test's own, for fault injection: a PostgreSQL cluster, a Redis server and a Kafka
// broker that the test can stop, restart, freeze (SIGSTOP) and thaw (SIGCONT) without touching the
// shared stack that other tests (and other people) use. Each lives in a temporary directory and is
// stopped by destroy().

import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type Subprocess, spawn, spawnSync } from 'bun'
import postgres from 'postgres'
import { ROOT } from './stack.ts'

/** A TCP port nothing listens on right now. */
export function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() })
  const port = probe.port as number
  probe.stop(true)
  return port
}

async function until(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await ok()) return
    await Bun.sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/** Signals a process (and ignores one that is already gone). */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name)
  } catch {}
}

// ------------------------------------------------------------------------------------ PostgreSQL

const PG_BIN = (() => {
  const base = '/usr/lib/postgresql'
  if (!existsSync(base)) return null
  const versions = readdirSync(base).sort((a, b) => Number(b) - Number(a))
  for (const version of versions)
    if (existsSync(join(base, version, 'bin', 'initdb'))) return join(base, version, 'bin')
  return null
})()

const isRoot = process.getuid?.() === 0

/** Runs a PostgreSQL tool as the `postgres` user when we are root (initdb and pg_ctl refuse root). */
function pgTool(tool: string, args: string[]) {
  const command = [join(PG_BIN as string, tool), ...args]
  const proc = spawnSync(isRoot ? ['runuser', '-u', 'postgres', '--', ...command] : command, {
    stdout: 'pipe',
    stderr: 'pipe',
  })
  if (proc.exitCode !== 0)
    throw new Error(`${tool} failed: ${proc.stderr.toString()}${proc.stdout.toString()}`)
  return proc.stdout.toString()
}

export const ownPostgresAvailable = PG_BIN !== null

/** A PostgreSQL cluster of the test's own (trust authentication, role inventory_user, fsync off). */
export class OwnPostgres {
  readonly port = freePort()
  readonly host = '127.0.0.1'
  readonly username = 'inventory_user'
  private readonly dir = mkdtempSync(join(tmpdir(), 'invpipe-own-pg-'))
  private readonly data = join(this.dir, 'data')

  constructor() {
    if (isRoot) chownSync(this.dir, uidOf('postgres'), gidOf('postgres'))
    pgTool('initdb', ['-D', this.data, '-U', this.username, '--auth=trust', '-E', 'UTF8', '--no-sync'])
    writeFileSync(
      join(this.data, 'postgresql.auto.conf'),
      [
        `port = ${this.port}`,
        `listen_addresses = '127.0.0.1'`,
        `unix_socket_directories = '${this.dir}'`,
        // No fsync (the OS keeps what a killed server wrote), but every commit is written before
        // it is acknowledged: an `immediate` stop must not lose an acknowledged commit.
        'fsync = off',
        'full_page_writes = off',
        'max_connections = 60',
        'shared_buffers = 32MB',
        '',
      ].join('\n'),
    )
  }

  /** The variables consume reads to reach this server. */
  get env(): Record<string, string> {
    return { POSTGRES_HOST: this.host, POSTGRES_PORT: String(this.port), POSTGRES_USER: this.username }
  }

  get address() {
    return { host: this.host, port: this.port, username: this.username }
  }

  start(): void {
    pgTool('pg_ctl', ['-D', this.data, '-l', join(this.dir, 'log'), '-w', '-t', '60', 'start'])
  }

  /** `fast` rolls back open transactions and closes connections; `immediate` is a crash. */
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    pgTool('pg_ctl', ['-D', this.data, '-m', mode, '-w', '-t', '60', 'stop'])
  }

  /** Every process of the cluster (postmaster and backends). */
  private pids(): number[] {
    const pidFile = join(this.data, 'postmaster.pid')
    if (!existsSync(pidFile)) return []
    const postmaster = Number(readFileSync(pidFile, 'utf8').split('\n')[0])
    const children = spawnSync(['pgrep', '-P', String(postmaster)])
      .stdout.toString()
      .split('\n')
      .filter(Boolean)
    return [postmaster, ...children.map(Number)]
  }

  freeze(): void {
    for (const pid of this.pids()) signal(pid, 'SIGSTOP')
  }

  thaw(): void {
    for (const pid of this.pids()) signal(pid, 'SIGCONT')
  }

  connect(database = 'postgres') {
    return postgres({
      ...this.address,
      database,
      max: 2,
      onnotice: () => {},
      types: {
        bigint: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
      },
    })
  }

  async createDatabase(name: string): Promise<void> {
    const sql = this.connect()
    try {
      await sql.unsafe(`CREATE DATABASE ${name}`)
    } finally {
      await sql.end()
    }
  }

  destroy(): void {
    this.thaw()
    try {
      this.stop('immediate')
    } catch {}
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function uidOf(user: string): number {
  return Number(spawnSync(['id', '-u', user]).stdout.toString().trim())
}

function gidOf(user: string): number {
  return Number(spawnSync(['id', '-g', user]).stdout.toString().trim())
}

// ------------------------------------------------------------------------------------ Redis

/**
 * A server process the test owns: stopped by SIGKILL (an outage, not a clean hand-over; a Redis
 * without persistence loses its data), frozen (SIGSTOP) and thawed (SIGCONT).
 */
abstract class OwnProcess {
  protected proc: Subprocess | null = null

  async stop(): Promise<void> {
    const proc = this.proc
    if (proc === null) return
    this.proc = null
    signal(proc.pid, 'SIGCONT')
    proc.kill('SIGKILL')
    await proc.exited
  }

  freeze(): void {
    if (this.proc) signal(this.proc.pid, 'SIGSTOP')
  }

  thaw(): void {
    if (this.proc) signal(this.proc.pid, 'SIGCONT')
  }
}

export const ownRedisAvailable = spawnSync(['sh', '-c', 'command -v redis-server']).exitCode === 0

/** A Redis server of the test's own: no persistence, so a restart comes back empty. */
export class OwnRedis extends OwnProcess {
  readonly port = freePort()

  constructor(private readonly password?: string) {
    super()
  }

  get env(): Record<string, string> {
    return { REDIS_HOST: '127.0.0.1', REDIS_PORT: String(this.port) }
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
    if (this.password !== undefined) args.push('--requirepass', this.password)
    this.proc = spawn(['redis-server', ...args], { stdout: 'ignore', stderr: 'ignore' })
    await until('redis to answer', async () => {
      const ping = spawnSync(['redis-cli', '-p', String(this.port), ...this.auth(), 'PING'])
      return ping.stdout.toString().includes('PONG')
    })
  }

  private auth(): string[] {
    return this.password === undefined ? [] : ['-a', this.password, '--no-auth-warning']
  }

  async destroy(): Promise<void> {
    await this.stop()
  }
}

// ------------------------------------------------------------------------------------ Kafka

const KAFKA_LIBS = join(ROOT, '.stack', 'kafka', 'libs')
export const ownKafkaAvailable =
  existsSync(KAFKA_LIBS) && spawnSync(['sh', '-c', 'command -v java']).exitCode === 0

/** A single-node KRaft broker of the test's own, from the jars scripts/stack/stack.sh fetched. */
export class OwnKafka extends OwnProcess {
  readonly port = freePort()
  private readonly controllerPort = freePort()
  private readonly dir = mkdtempSync(join(tmpdir(), 'invpipe-own-kafka-'))
  private starts = 0

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`
  }

  private java(args: string[]) {
    return [
      'java',
      '-Xmx256m',
      '-Xms128m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${join(ROOT, '.stack', 'kafka', 'log4j2.properties')}`,
      '-cp',
      `${KAFKA_LIBS}/*`,
      ...args,
    ]
  }

  private configure(): string {
    const config = join(this.dir, 'server.properties')
    if (existsSync(config)) return config
    mkdirSync(join(this.dir, 'data'))
    writeFileSync(
      config,
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.voters=1@127.0.0.1:${this.controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${this.port},CONTROLLER://127.0.0.1:${this.controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${this.port}`,
        'inter.broker.listener.name=PLAINTEXT',
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        `log.dirs=${join(this.dir, 'data')}`,
        'num.network.threads=2',
        'num.io.threads=2',
        'num.partitions=3',
        'default.replication.factor=1',
        'min.insync.replicas=1',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=3',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        'broker.heartbeat.interval.ms=1000',
        'broker.session.timeout.ms=4000',
        '',
      ].join('\n'),
    )
    const uuid = spawnSync(this.java(['kafka.tools.StorageTool', 'random-uuid']), { stderr: 'ignore' })
      .stdout.toString()
      .trim()
      .split('\n')
      .pop() as string
    const format = spawnSync(
      this.java(['kafka.tools.StorageTool', 'format', '--config', config, '--cluster-id', uuid]),
      { stdout: 'pipe', stderr: 'pipe' },
    )
    if (format.exitCode !== 0) throw new Error(`kafka storage format failed: ${format.stderr.toString()}`)
    return config
  }

  async start(): Promise<void> {
    const config = this.configure()
    const log = join(this.dir, `kafka-${++this.starts}.log`)
    this.proc = spawn(this.java(['kafka.Kafka', config]), {
      stdout: Bun.file(log),
      stderr: 'ignore',
    })
    const proc = this.proc
    await until(
      'the broker to start',
      () => {
        if (proc.exitCode !== null) throw new Error(`kafka exited: ${readFileSync(log, 'utf8').slice(-2000)}`)
        return existsSync(log) && readFileSync(log, 'utf8').includes('Kafka Server started')
      },
      120_000,
    )
  }

  async destroy(): Promise<void> {
    await this.stop()
    rmSync(this.dir, { recursive: true, force: true })
  }
}
