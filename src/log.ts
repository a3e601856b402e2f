// Logs: JSON lines for machines when stderr is not a terminal, readable lines when it is.
// LOG_LEVEL (debug, info, warn, error; default info) sets how much.
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
    process.stderr.write(`${JSON.stringify({ time, level, message, ...fields })}\n`)
  }
}

export const log = {
  debug: (message: string, fields?: Record<string, unknown>) => write('debug', message, fields),
  info: (message: string, fields?: Record<string, unknown>) => write('info', message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write('warn', message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write('error', message, fields),
}
