/** A mistake in how the program was called (a bad option, an impossible request): one line, exit 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** A service the command needs could not be reached or refused it (not a bug here): one line, exit 1. */
export class ServiceError extends Error {
  override name = 'ServiceError'
}
