// invpipe run from source as its own process, as a user runs it: an environment of PATH and what the
// test gives (nothing of the test runner's own settings leaks in), stdin closed unless given.
import { join } from 'node:path'

export const MAIN = join(import.meta.dir, '..', '..', 'src', 'main.ts')

export interface CliOptions {
  cwd?: string
  env?: Record<string, string>
  stdin?: string
}

/** Runs `invpipe ARGS` to its end: its exit code, stdout and stderr. */
export function invpipe(args: string[], options: CliOptions = {}) {
  const proc = Bun.spawnSync(['bun', MAIN, ...args], {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdin: options.stdin === undefined ? 'ignore' : Buffer.from(options.stdin),
  })
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() }
}
