// The hub's errors: a string code, and where it crosses a wire, its HTTP status.
// Codes map to statuses here, in one place; handlers throw, the edge answers.

export const HubErrorCode = {
  BadRequest: 'HUB_ERR_BAD_REQUEST',
  Validation: 'HUB_ERR_VALIDATION',
  Unauthenticated: 'HUB_ERR_UNAUTHENTICATED',
  Forbidden: 'HUB_ERR_FORBIDDEN',
  Csrf: 'HUB_ERR_CSRF',
  NotFound: 'HUB_ERR_NOT_FOUND',
  MethodNotAllowed: 'HUB_ERR_METHOD_NOT_ALLOWED',
  DeviceUnknown: 'HUB_ERR_DEVICE_UNKNOWN',
  DeviceExists: 'HUB_ERR_DEVICE_EXISTS',
  DeviceRevoked: 'HUB_ERR_DEVICE_REVOKED',
  OperatorExists: 'HUB_ERR_OPERATOR_EXISTS',
  OperatorUnknown: 'HUB_ERR_OPERATOR_UNKNOWN',
  LastAdmin: 'HUB_ERR_LAST_ADMIN',
  IntegratorExists: 'HUB_ERR_INTEGRATOR_EXISTS',
  IntegratorUnknown: 'HUB_ERR_INTEGRATOR_UNKNOWN',
  CommandUnknown: 'HUB_ERR_COMMAND_UNKNOWN',
  CommandFinal: 'HUB_ERR_COMMAND_FINAL',
  QueueFull: 'HUB_ERR_QUEUE_FULL',
  IdempotencyConflict: 'HUB_ERR_IDEMPOTENCY_CONFLICT',
  VersionMismatch: 'HUB_ERR_VERSION_MISMATCH',
  FirmwareUnknown: 'HUB_ERR_FIRMWARE_UNKNOWN',
  FirmwareExists: 'HUB_ERR_FIRMWARE_EXISTS',
  FirmwareInUse: 'HUB_ERR_FIRMWARE_IN_USE',
  FirmwareLibraryFull: 'HUB_ERR_FIRMWARE_LIBRARY_FULL',
  UpdateUnknown: 'HUB_ERR_UPDATE_UNKNOWN',
  UpdateInProgress: 'HUB_ERR_UPDATE_IN_PROGRESS',
  UpdateFinal: 'HUB_ERR_UPDATE_FINAL',
  AlarmRuleUnknown: 'HUB_ERR_ALARM_RULE_UNKNOWN',
  AlarmUnknown: 'HUB_ERR_ALARM_UNKNOWN',
  AlarmState: 'HUB_ERR_ALARM_STATE',
  WebhookUnknown: 'HUB_ERR_WEBHOOK_UNKNOWN',
  WebhookUrl: 'HUB_ERR_WEBHOOK_URL',
  JobUnknown: 'HUB_ERR_JOB_UNKNOWN',
  JobFinal: 'HUB_ERR_JOB_FINAL',
  JobState: 'HUB_ERR_JOB_STATE',
  TooLarge: 'HUB_ERR_TOO_LARGE',
  RateLimited: 'HUB_ERR_RATE_LIMITED',
  Unavailable: 'HUB_ERR_UNAVAILABLE',
  Storage: 'HUB_ERR_STORAGE',
  Internal: 'HUB_ERR_INTERNAL',
} as const;
export type HubErrorCodeString = (typeof HubErrorCode)[keyof typeof HubErrorCode];

const STATUS: Record<HubErrorCodeString, number> = {
  HUB_ERR_BAD_REQUEST: 400,
  HUB_ERR_VALIDATION: 400,
  HUB_ERR_UNAUTHENTICATED: 401,
  HUB_ERR_FORBIDDEN: 403,
  HUB_ERR_CSRF: 403,
  HUB_ERR_DEVICE_REVOKED: 403,
  HUB_ERR_NOT_FOUND: 404,
  HUB_ERR_WEBHOOK_UNKNOWN: 404,
  HUB_ERR_WEBHOOK_URL: 400,
  HUB_ERR_DEVICE_UNKNOWN: 404,
  HUB_ERR_OPERATOR_UNKNOWN: 404,
  HUB_ERR_INTEGRATOR_UNKNOWN: 404,
  HUB_ERR_COMMAND_UNKNOWN: 404,
  HUB_ERR_FIRMWARE_UNKNOWN: 404,
  HUB_ERR_FIRMWARE_EXISTS: 409,
  HUB_ERR_FIRMWARE_IN_USE: 409,
  // RFC 4918's Insufficient Storage: the library (or the disk under it) is full, not the request too large.
  HUB_ERR_FIRMWARE_LIBRARY_FULL: 507,
  HUB_ERR_UPDATE_UNKNOWN: 404,
  HUB_ERR_UPDATE_IN_PROGRESS: 409,
  HUB_ERR_UPDATE_FINAL: 409,
  HUB_ERR_ALARM_RULE_UNKNOWN: 404,
  HUB_ERR_ALARM_UNKNOWN: 404,
  HUB_ERR_ALARM_STATE: 409,
  HUB_ERR_JOB_UNKNOWN: 404,
  HUB_ERR_JOB_FINAL: 409,
  HUB_ERR_JOB_STATE: 409,
  HUB_ERR_METHOD_NOT_ALLOWED: 405,
  HUB_ERR_DEVICE_EXISTS: 409,
  HUB_ERR_OPERATOR_EXISTS: 409,
  HUB_ERR_INTEGRATOR_EXISTS: 409,
  HUB_ERR_COMMAND_FINAL: 409,
  HUB_ERR_LAST_ADMIN: 409,
  HUB_ERR_VERSION_MISMATCH: 412,
  HUB_ERR_TOO_LARGE: 413,
  // The IETF Idempotency-Key draft's answer to a key reused for a different request.
  HUB_ERR_IDEMPOTENCY_CONFLICT: 422,
  HUB_ERR_QUEUE_FULL: 429,
  HUB_ERR_RATE_LIMITED: 429,
  HUB_ERR_INTERNAL: 500,
  HUB_ERR_STORAGE: 503,
  HUB_ERR_UNAVAILABLE: 503,
};

export class HubError extends Error {
  override readonly name = 'HubError';
  readonly status: number;

  constructor(
    readonly code: HubErrorCodeString,
    message: string,
    readonly options: { field?: string; cause?: unknown; retryAfter?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.status = STATUS[code];
  }

  get field(): string | undefined {
    return this.options.field;
  }

  toJSON(): { error: { code: string; message: string; field?: string } } {
    return { error: { code: this.code, message: this.message, ...(this.field === undefined ? {} : { field: this.field }) } };
  }
}
