#!/usr/bin/env bun
// The `invpipe` executable: one binary, one command per job, all sharing the core.
import { defineCommand, runCommand, showUsage } from 'citty'
import packageJson from '../package.json' with { type: 'json' }
import { replayCommand } from './commands/replay.ts'
import { ConfigError } from './config.ts'
import { ServiceError } from './errors.ts'
import { SourceError } from './sources/files.ts'

const main = defineCommand({
  meta: {
    name: 'invpipe',
    version: packageJson.version,
    description:
      'Real-time inventory analytics: demand metrics, stockout risk and reorder recommendations from inventory events.',
  },
  subCommands: {
    replay: replayCommand,
    consume: () => import('./commands/consume.ts').then((m) => m.consumeCommand),
    generate: () => import('./commands/generate.ts').then((m) => m.generateCommand),
    migrate: () => import('./commands/migrate.ts').then((m) => m.migrateCommand),
    backtest: () => import('./commands/backtest.ts').then((m) => m.backtestCommand),
    health: () => import('./commands/health.ts').then((m) => m.healthCommand),
  },
})

/** Errors of the user's making: one line, no stack trace. */
function isUsageError(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof SourceError ||
    (error instanceof Error && (error.name === 'CLIError' || error.name === 'UsageError'))
  )
}

async function run(rawArgs: string[]): Promise<number> {
  if (rawArgs.length === 0 || rawArgs.includes('--help') || rawArgs.includes('-h')) {
    await showUsage(...(await resolveForUsage(rawArgs)))
    return 0
  }
  if (rawArgs.length === 1 && (rawArgs[0] === '--version' || rawArgs[0] === '-v')) {
    console.log(packageJson.version)
    return 0
  }
  try {
    await runCommand(main, { rawArgs })
    // A command may have chosen its own status (health reports "not ready" as 1).
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    if (isUsageError(error)) {
      console.error(`invpipe: ${error.message}`)
      return 2
    }
    if (error instanceof ServiceError) {
      console.error(`invpipe: ${error.message}`)
      return 1
    }
    console.error('invpipe: unexpected failure:', error)
    return 1
  }
}

/** The (sub)command whose usage to show: the first argument names it, when it is one. */
async function resolveForUsage(rawArgs: string[]): Promise<Parameters<typeof showUsage>> {
  const name = rawArgs[0]
  const subCommands = main.subCommands as Record<string, unknown>
  if (name !== undefined && name in subCommands) {
    const entry = subCommands[name] as (() => Promise<typeof main>) | typeof main
    const command = typeof entry === 'function' ? await entry() : entry
    return [command, main]
  }
  return [main]
}

process.exitCode = await run(process.argv.slice(2))
