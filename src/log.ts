// Logs: JSON lines for machines when stderr is not a terminal, readable lines when it is.
// LOG_LEVEL (debug, info, warn, error; default info) sets how much.
//
// Everything a long-running command prints goes through here, the libraries' complaints included
// (routeProcessOutput: unhandled rejections, uncaught exceptions and process warnings), so that
// stderr stays one JSON object per line through any outage.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type LogLevel = keyof typeof LEVELS

function threshold(): number {
  const level = (process.env.LOG_LEVEL ?? 'info').toLowerCase()
  return level in LEVELS ? LEVELS[level as LogLevel] : LEVELS.info
}

function write(level: LogLevel, message: string, fields: Record<string, unknown> = {}): void {
  if (LEVELS[level] < threshold()) return
  const time = new Date().toISOString()
  if (process.stderr.isTTY) {
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ')
    process.stderr.write(`${time.slice(11, 23)} ${level.padEnd(5)} ${message}${extra ? ` ${extra}` : ''}\n`)
  } else {
    process.stderr.write(`${JSON.stringify({ time, level, message, ...fields }, jsonSafe)}\n`)
  }
}

/** Values JSON cannot hold as they are (errors, bigints) as text. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Error) return errorText(value)
  return value
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
}

/**
 * An error as one line naming its real cause: the messages along the `cause` chain (kafkajs wraps
 * the connection error in KafkaJSNumberOfRetriesExceeded), the errors inside an AggregateError
 * (a refused connection to every address of a host), and a code (SQLSTATE, errno) the message
 * lacks.
 */
export function errorText(error: unknown): string {
  const parts: string[] = []
  const seen = new Set<unknown>()
  const visit = (e: unknown, depth: number) => {
    if (e === null || e === undefined || seen.has(e) || depth > 5) return
    seen.add(e)
    if (!(e instanceof Error)) {
      parts.push(String(e))
      return
    }
    let text = e.message
    const code = (e as { code?: unknown }).code
    if ((typeof code === 'string' || typeof code === 'number') && !text.includes(String(code)))
      text = text ? `${text} (${code})` : String(code)
    if (text && !parts.some((p) => p.includes(text))) parts.push(text)
    if (e instanceof AggregateError) for (const inner of e.errors) visit(inner, depth + 1)
    visit((e as { cause?: unknown }).cause, depth + 1)
    if (parts.length === 0) parts.push(e.name)
  }
  visit(error, 0)
  return parts.join(': ') || 'unknown error'
}

let routed = false

/**
 * Sends what the runtime would print on its own to the log: unhandled rejections and uncaught
 * exceptions (libraries' sockets failing during an outage; logged as errors, the pipeline's own
 * retries deal with the failure) and process warnings. TimeoutNegativeWarning comes from kafkajs'
 * request queue, which schedules its first check at `-1 - Date.now()` ms (harmless: the runtime
 * uses 1 ms); it is logged at debug level only.
 */
export function routeProcessOutput(): void {
  if (routed) return
  routed = true
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled rejection', { error: errorText(reason), stack: stackOf(reason) })
  })
  process.on('uncaughtException', (error) => {
    // postgres.js 3.4.9 writes to a socket it has just closed, from a timer (porsager/postgres#1066,
    // #1208): harmless here (the query already failed and the pool is replaced, see
    // src/postgres/connect.ts), so it does not add a line to the outage's one warning.
    if (/postgres\/src\/connection\.js/.test(error?.stack ?? '') && /socket\.write/.test(error.message))
      log.debug('postgres.js wrote to a closed socket (known race; its pool is replaced)', {
        error: error.message,
      })
    else log.error('uncaught exception', { error: errorText(error), stack: stackOf(error) })
  })
  process.removeAllListeners('warning')
  process.on('warning', (warning) => {
    if (warning.name === 'TimeoutNegativeWarning') log.debug('process warning', { warning: warning.message })
    else log.warn(`process warning: ${warning.name}: ${warning.message}`)
  })
}

function stackOf(error: unknown): string | undefined {
  return error instanceof Error ? error.stack?.split('\n').slice(0, 6).join(' | ') : undefined
}
