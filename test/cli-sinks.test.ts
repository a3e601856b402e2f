// Stores that are down or do not answer, in a one-shot replay: one line naming the store and a
// non-zero exit within 30 s, never a stack trace or a run that does not end. And a Parquet
// directory that cannot be one: one line, exit 2, before anything is read.
import { afterAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

setDefaultTimeout(90_000)

const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-sinks-'))
const servers: Server[] = []
afterAll(() => {
  for (const server of servers) server.close()
  rmSync(dir, { recursive: true, force: true })
})

const inputPath = join(dir, 'in.jsonl')
writeFileSync(
  inputPath,
  `${JSON.stringify({ event_id: 'a', event_type: 'stock_count', sku: 'S1', warehouse_id: 'W1', quantity: 4, timestamp: '2026-02-01T00:00:00Z' })}\n`,
)

async function replay(args: string[]) {
  const started = performance.now()
  const proc = Bun.spawn(
    ['bun', join(ROOT, 'src/main.ts'), 'replay', inputPath, '--data-dir', 'data', ...args],
    {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '' },
      stdout: 'pipe',
      stderr: 'pipe',
    },
  )
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, stdout, stderr, seconds: (performance.now() - started) / 1000 }
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A port that accepts connections and never answers (a hung server, a black-holing proxy). */
async function silentPort(): Promise<number> {
  const server = createServer(() => {})
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

function expectOneLine(result: Awaited<ReturnType<typeof replay>>, pattern: RegExp) {
  expect(result.stderr.trim()).toMatch(pattern)
  expect(result.stderr.trim().split('\n')).toHaveLength(1)
  expect(result.stdout).toBe('')
  expect(result.code).not.toBe(0)
  expect(result.seconds).toBeLessThan(30)
}

describe('replay --sinks with the store down', () => {
  test('nothing listening: one line at once, naming the store and the reason', async () => {
    const port = String(await closedPort())
    const [redis, postgres, kafka] = await Promise.all([
      replay(['--sinks', 'redis', '--redis-host', '127.0.0.1', '--redis-port', port]),
      replay(['--sinks', 'postgres', '--postgres-host', '127.0.0.1', '--postgres-port', port]),
      replay(['--sinks', 'kafka', '--kafka-bootstrap-servers', `127.0.0.1:${port}`]),
    ])
    expectOneLine(redis, new RegExp(`^invpipe: Redis 127.0.0.1:${port}: .*ECONNREFUSED`))
    expectOneLine(
      postgres,
      new RegExp(`^invpipe: PostgreSQL inventory_user@127.0.0.1:${port}/inventory: .*ECONNREFUSED`),
    )
    expectOneLine(kafka, new RegExp(`^invpipe: Kafka 127.0.0.1:${port}: cannot connect .*ECONNREFUSED`))
    for (const result of [redis, postgres, kafka]) expect(result.code).toBe(1)
    expect(existsSync(join(dir, 'data'))).toBe(true) // checked and made, but nothing written
  })

  test('a server that accepts and never answers: one line within 30 s', async () => {
    const port = String(await silentPort())
    const [redis, postgres, kafka] = await Promise.all([
      replay(['--sinks', 'redis', '--redis-host', '127.0.0.1', '--redis-port', port]),
      replay(['--sinks', 'postgres', '--postgres-host', '127.0.0.1', '--postgres-port', port]),
      replay(['--sinks', 'kafka', '--kafka-bootstrap-servers', `127.0.0.1:${port}`]),
    ])
    expectOneLine(redis, /^invpipe: Redis 127.0.0.1:\d+: /)
    expectOneLine(postgres, /^invpipe: PostgreSQL inventory_user@127.0.0.1:\d+\/inventory: /)
    expectOneLine(kafka, /^invpipe: Kafka 127.0.0.1:\d+: /)
  })
})

describe('replay --data-dir that cannot be a directory', () => {
  test('a file, a path under a file, /proc: one line, exit 2, nothing read', async () => {
    writeFileSync(join(dir, 'README.md'), 'x\n')
    const file = await replay(['--data-dir', 'README.md'])
    expectOneLine(file, /^invpipe: --data-dir README.md: not a directory/)
    expect(file.code).toBe(2)
    const under = await replay(['--data-dir', 'README.md/sub'])
    expectOneLine(
      under,
      /^invpipe: --data-dir README.md\/sub: cannot create or write the directory \(ENOTDIR\)/,
    )
    expect(under.code).toBe(2)
    const proc = await replay(['--data-dir', '/proc/nope'])
    expectOneLine(proc, /^invpipe: --data-dir \/proc\/nope: cannot create or write the directory/)
    expect(proc.code).toBe(2)
  })

  test.skipIf(process.getuid?.() === 0)(
    'a directory without write permission: one line, exit 2',
    async () => {
      mkdirSync(join(dir, 'locked'))
      chmodSync(join(dir, 'locked'), 0o555)
      const result = await replay(['--data-dir', 'locked'])
      expectOneLine(result, /^invpipe: --data-dir locked: cannot create or write the directory \(EACCES\)/)
      expect(result.code).toBe(2)
    },
  )
})
