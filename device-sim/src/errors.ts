// The simulator's typed errors: every failure the CLI or the programmatic API reports
// carries a string code (for scripts and tests) and a human message.

export const SimErrorCode = {
  /** A flag or environment variable has a bad value. */
  Config: 'SIM_ERR_CONFIG',
  /** The tokens file cannot be read, parsed or written. */
  TokensFile: 'SIM_ERR_TOKENS_FILE',
  /** The tokens file holds fewer devices than asked for. */
  TokensShort: 'SIM_ERR_TOKENS_SHORT',
  /** The hub's HTTP API refused or failed a request while provisioning. */
  Api: 'SIM_ERR_API',
  /** The operator's credentials were refused (HTTP 401/403 at login). */
  Login: 'SIM_ERR_LOGIN',
  /** startFleet() was given options it cannot run with. */
  FleetOptions: 'SIM_ERR_FLEET_OPTIONS',
} as const;
export type SimErrorCodeString = (typeof SimErrorCode)[keyof typeof SimErrorCode];

export class SimError extends Error {
  override readonly name = 'SimError';

  constructor(
    readonly code: SimErrorCodeString,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isSimError(value: unknown): value is SimError {
  return value instanceof SimError;
}
