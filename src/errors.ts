/** A mistake in how the program was called (a bad option, an impossible request): one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** An input file that cannot be read as events (missing, unreadable, not JSON lines or Parquet): one line, exit 2. */
export class SourceError extends Error {
  override name = 'SourceError'
}

/** A service the command needs could not be reached or refused it (not a bug here): one line, exit 1. */
export class ServiceError extends Error {
  override name = 'ServiceError'
}

/** An error's code (PostgreSQL's SQLSTATE, a client library's or Node's own), or '' when it has none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : ''
}
