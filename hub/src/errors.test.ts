import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HubError, HubErrorCode } from './errors.js';

describe('HubError', () => {
  it('takes its status from the one table, for every code', () => {
    const expected: Record<string, number> = {
      BadRequest: 400,
      Validation: 400,
      WebhookUrl: 400,
      Unauthenticated: 401,
      Forbidden: 403,
      Csrf: 403,
      DeviceRevoked: 403,
      NotFound: 404,
      DeviceUnknown: 404,
      OperatorUnknown: 404,
      IntegratorUnknown: 404,
      CommandUnknown: 404,
      FirmwareUnknown: 404,
      UpdateUnknown: 404,
      AlarmRuleUnknown: 404,
      AlarmUnknown: 404,
      WebhookUnknown: 404,
      JobUnknown: 404,
      MethodNotAllowed: 405,
      DeviceExists: 409,
      OperatorExists: 409,
      IntegratorExists: 409,
      CommandFinal: 409,
      LastAdmin: 409,
      FirmwareExists: 409,
      FirmwareInUse: 409,
      FirmwareLibraryFull: 507,
      UpdateInProgress: 409,
      UpdateFinal: 409,
      AlarmState: 409,
      JobFinal: 409,
      JobState: 409,
      VersionMismatch: 412,
      TooLarge: 413,
      IdempotencyConflict: 422,
      QueueFull: 429,
      RateLimited: 429,
      Internal: 500,
      Storage: 503,
      Unavailable: 503,
    };
    assert.deepEqual(Object.keys(HubErrorCode).sort(), Object.keys(expected).sort(), 'every code has an expected status here');
    for (const [name, code] of Object.entries(HubErrorCode)) {
      assert.equal(new HubError(code, 'x').status, expected[name], name);
    }
  });

  it('serialises code, message and field, nothing else', () => {
    const e = new HubError(HubErrorCode.Validation, 'bad name', { field: 'name', retryAfter: 3, cause: new Error('inner') });
    assert.deepEqual(JSON.parse(JSON.stringify(e)), { error: { code: 'HUB_ERR_VALIDATION', message: 'bad name', field: 'name' } });
    assert.deepEqual(new HubError(HubErrorCode.NotFound, 'gone').toJSON(), { error: { code: 'HUB_ERR_NOT_FOUND', message: 'gone' } });
  });
});
