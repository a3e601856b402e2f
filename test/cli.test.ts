// The command line end to end, as a user runs it: from source, and as the compiled binary.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from 'bun:test'
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Bun's 5 s default is too short for a test that spawns processes on 2 loaded cores.
setDefaultTimeout(60_000)

const ROOT = join(import.meta.dir, '..')
const dir = mkdtempSync(join(tmpdir(), 'invpipe-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const good = (id: string, quantity: number, day: number) =>
  JSON.stringify({
    event_id: id,
    event_type: 'sale',
    sku: 'S1',
    warehouse_id: 'W1',
    quantity,
    timestamp: `2026-02-0${day}T12:00:00Z`,
    on_hand: 50,
  })
const input = [good('a', 5, 1), 'not json', '', good('a', 5, 1), good('b', 7, 2), '{"event_id":"c"}'].join(
  '\n',
)
const inputPath = join(dir, 'in.jsonl')
writeFileSync(inputPath, `${input}\n`)

function run(cmd: string[], options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const proc = Bun.spawnSync(cmd, {
    cwd: options.cwd ?? dir,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdin: options.stdin === undefined ? 'ignore' : Buffer.from(options.stdin),
  })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}
const source = (...args: string[]) => ['bun', join(ROOT, 'src/main.ts'), ...args]

describe('invpipe from source', () => {
  test('replay reports counts by reason, writes rejects with line numbers and Parquet files', () => {
    const result = run(
      source(
        'replay',
        inputPath,
        '--json',
        '--rejects',
        'rejects.jsonl',
        '--alerts',
        'alerts.jsonl',
        '--data-dir',
        'out',
      ),
    )
    expect(result.code).toBe(0)
    const summary = JSON.parse(result.stdout)
    expect(summary.events).toEqual({
      read: 5,
      accepted: 3,
      rejected: 2,
      duplicates: 1,
      rejected_by_code: { invalid_json: 1, missing_field: 1 },
    })
    expect(summary.items).toBe(1)
    const rejects = readFileSync(join(dir, 'rejects.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(rejects.map((r) => [r.line, r.code])).toEqual([
      [2, 'invalid_json'],
      [4, 'duplicate'],
      [6, 'missing_field'],
    ])
    expect(rejects[0].record).toBe('not json')
    expect(readdirSync(join(dir, 'out'))).toHaveLength(1)
  })

  test('standard input with -, settings from the environment', () => {
    const result = run(source('replay', '-', '--json', '--data-dir', 'out-stdin'), {
      stdin: input,
      env: { ALERT_THRESHOLD: '1.0' },
    })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout).events.read).toBe(5)
  })

  test('a bad setting is one line naming the variable, before anything is read', () => {
    const result = run(source('replay', inputPath, '--data-dir', 'never'), { env: { SERVICE_LEVEL: '1.5' } })
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe(
      'invpipe: invalid SERVICE_LEVEL="1.5": expected a probability with 0 < x < 1',
    )
    expect(readdirSync(dir)).not.toContain('never')
    const flag = run(source('replay', inputPath, '--batch-size', '0'))
    expect(flag.stderr.trim()).toBe(
      'invpipe: invalid BATCH_SIZE="0" (from --batch-size): expected a whole number from 1 to 1000000',
    )
  })

  test('a missing file is a one-line error', () => {
    const result = run(source('replay', inputPath, 'missing.jsonl'))
    expect(result.code).toBe(2)
    expect(result.stderr.trim()).toBe('invpipe: missing.jsonl: cannot read (ENOENT)')
  })

  test('--help lists the commands, and replay --help its options', () => {
    expect(run(source('--help')).stdout).toContain('replay')
    const help = run(source('replay', '--help')).stdout
    expect(help).toContain('--rejects')
    expect(help).toContain('LEAD_TIME_DAYS')
  })
})

describe('the compiled binary', () => {
  const binDir = join(dir, 'bin')
  beforeAll(() => {
    const build = Bun.spawnSync(['bun', 'run', 'build'], { cwd: ROOT })
    if (build.exitCode !== 0) throw new Error(build.stderr.toString())
    Bun.spawnSync(['mkdir', '-p', binDir])
    copyFileSync(join(ROOT, 'dist/invpipe'), join(binDir, 'invpipe'))
    Bun.spawnSync(['chmod', '+x', join(binDir, 'invpipe')])
  })

  test('runs with neither Bun nor node_modules: --version, replay', () => {
    const env = { PATH: '/usr/bin:/bin' }
    const version = run(['./invpipe', '--version'], { cwd: binDir, env })
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version)
    const replayed = run(['./invpipe', 'replay', inputPath, '--json', '--data-dir', 'data'], {
      cwd: binDir,
      env,
    })
    expect(replayed.code).toBe(0)
    expect(JSON.parse(replayed.stdout).events.accepted).toBe(3)
    expect(readdirSync(join(binDir, 'data'))[0]).toMatch(/\.parquet$/)
  })
})
