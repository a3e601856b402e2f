#!/usr/bin/env bun
// The `invpipe` executable: one binary, one command per job, all sharing the core.
// citty parses each command's options; checkArgs (src/commands/cli.ts) first refuses anything
// citty would silently ignore or misread, for every command alike.
import type { ArgsDef, CommandDef } from 'citty'
import { runCommand } from 'citty'
import packageJson from '../package.json' with { type: 'json' }
import {
  checkArgs,
  closest,
  type NamedCommand,
  renderCommandUsage,
  renderMainUsage,
  usageStyle,
} from './commands/cli.ts'
import { ConfigError } from './config.ts'
import { ServiceError, SourceError, UsageError } from './errors.ts'
import { restartWithMemorySettings } from './memory-settings.ts'

const DESCRIPTION =
  'inventory analytics from a stream of inventory events: demand, stockout risk and how much to reorder.'

type Loader = () => Promise<CommandDef<ArgsDef>>
const COMMANDS: Record<string, Loader> = {
  replay: () => import('./commands/replay.ts').then((m) => m.replayCommand as unknown as CommandDef<ArgsDef>),
  item: () => import('./commands/item.ts').then((m) => m.itemCommand as unknown as CommandDef<ArgsDef>),
  generate: () =>
    import('./commands/generate.ts').then((m) => m.generateCommand as unknown as CommandDef<ArgsDef>),
  consume: () =>
    import('./commands/consume.ts').then((m) => m.consumeCommand as unknown as CommandDef<ArgsDef>),
  backtest: () =>
    import('./commands/backtest.ts').then((m) => m.backtestCommand as unknown as CommandDef<ArgsDef>),
  migrate: () =>
    import('./commands/migrate.ts').then((m) => m.migrateCommand as unknown as CommandDef<ArgsDef>),
  health: () => import('./commands/health.ts').then((m) => m.healthCommand as unknown as CommandDef<ArgsDef>),
}

/** Errors of the user's making: one line, no stack trace. */
function isUsageError(error: unknown): error is Error {
  return (
    error instanceof ConfigError ||
    error instanceof SourceError ||
    error instanceof UsageError ||
    (error instanceof Error && error.name === 'CLIError')
  )
}

const isHelp = (arg: string) => arg === '--help' || arg === '-h'

async function run(rawArgs: string[]): Promise<number> {
  const [name, ...rest] = rawArgs
  if (rawArgs.length === 1 && (name === '--version' || name === '-v')) {
    console.log(packageJson.version)
    return 0
  }
  try {
    if (name === undefined || isHelp(name)) {
      console.log(await mainUsage())
      return 0
    }
    const load = COMMANDS[name]
    if (load === undefined) {
      if (name.startsWith('-')) throw new UsageError(`unknown option ${name}; see invpipe --help`)
      const meant = closest(name, Object.keys(COMMANDS))
      throw new UsageError(
        `unknown command ${JSON.stringify(name)}${meant === null ? '' : ` (did you mean ${meant}?)`}; commands: ${Object.keys(COMMANDS).join(', ')}`,
      )
    }
    const command = await load()
    const end = rest.indexOf('--')
    if ((end < 0 ? rest : rest.slice(0, end)).some(isHelp)) {
      console.log(renderCommandUsage({ name, command }, packageJson.version, usageStyle()))
      return 0
    }
    checkArgs(name, (command.args ?? {}) as ArgsDef, rest)
    await runCommand(command, { rawArgs: rest })
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

async function mainUsage(): Promise<string> {
  const commands: NamedCommand[] = []
  for (const [name, load] of Object.entries(COMMANDS)) commands.push({ name, command: await load() })
  return renderMainUsage(DESCRIPTION, commands, packageJson.version, usageStyle())
}

/**
 * Commands that run long enough for the memory settings to pay for a second start-up (~0.03 s:
 * every command's modules, replay's too, load only after this, in the restarted process).
 */
const LONG_RUNNING = new Set(['replay', 'consume', 'backtest'])
if (LONG_RUNNING.has(process.argv[2] ?? '')) restartWithMemorySettings()
const status = await run(process.argv.slice(2))
// After a failure, clients still retrying in the background (a broker, a database) must not keep a
// one-shot command alive: the line is printed, the run is over.
if (status !== 0) process.exit(status)
process.exitCode = status
