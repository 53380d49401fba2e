/** Why a request was not authenticated; `code` is the API's error code (401). */
export class AuthenticationError extends Error {
  constructor(
    readonly code: 'MISSING_TOKEN' | 'INVALID_TOKEN' | 'TOKEN_EXPIRED',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'AuthenticationError';
  }
}

/** The key set could not be fetched: the token may be fine, we cannot tell (503). */
export class KeySetUnavailableError extends Error {
  readonly code = 'SERVICE_UNAVAILABLE';

  constructor(options?: ErrorOptions) {
    super('The token signing keys cannot be fetched', options);
    this.name = 'KeySetUnavailableError';
  }
}
