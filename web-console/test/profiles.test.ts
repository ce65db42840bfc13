// Model profile helpers: checking values against fields, the parameter form's
// params, desired patches, and the editor's draft round trip.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelProfileDoc, ProfileField } from '@halyard/firmware-protocol';
import { emptyField, fromDraft, pathInWords, toDraft, undescribed } from '../src/lib/profile-draft.ts';
import { fieldError, paramsFrom, patchProblems } from '../src/lib/profile-fields.ts';

const setpoint: ProfileField = { name: 'setpoint', type: 'number', min: 5, max: 30, unit: 'Cel', required: true };
const mode: ProfileField = { name: 'mode', type: 'enum', values: ['heat', 'off'] };

describe('profile fields', () => {
  it('says in words what is wrong with a value', () => {
    assert.equal(fieldError(setpoint, 40), 'setpoint must be at most 30 Cel');
    assert.equal(fieldError(setpoint, 4), 'setpoint must be at least 5 Cel');
    assert.equal(fieldError(setpoint, Number.NaN), 'setpoint must be a number');
    assert.equal(fieldError(setpoint, undefined), 'setpoint is required');
    assert.equal(fieldError(mode, 'warm'), 'mode must be one of heat, off');
    assert.equal(fieldError({ name: 'on', type: 'boolean' }, 'yes'), 'on must be true or false');
    assert.equal(fieldError(mode, undefined), undefined);
    assert.equal(fieldError(setpoint, 21.5), undefined);
  });

  it('makes params from the form inputs, leaving out empty optional ones', () => {
    const on: ProfileField = { name: 'on', type: 'boolean' };
    assert.deepEqual(paramsFrom([setpoint, mode, on], { setpoint: '21.5', mode: '', on: 'true' }), {
      params: { setpoint: 21.5, on: true },
      errors: {},
    });
    assert.deepEqual(paramsFrom([setpoint], {}).errors, { setpoint: 'setpoint is required' });
  });

  it('checks a desired document against the known keys; unknown keys are only listed', () => {
    assert.deepEqual(patchProblems([setpoint, mode], { setpoint: 99, mode: null, fan: 1 }), {
      errors: ['setpoint must be at most 30 Cel'],
      unknown: ['fan'],
    });
    assert.deepEqual(patchProblems([], { fan: 1 }), { errors: [], unknown: [] });
  });
});

describe('profile draft', () => {
  const doc: ModelProfileDoc = {
    commands: [{ name: 'set_setpoint', description: 'hold it', params: [setpoint] }],
    metrics: [{ name: 'temperature', unit: 'Cel', decimals: 1 }],
    desired: [mode],
  };

  it('round-trips a profile and drops rows without a name', () => {
    const d = toDraft(doc);
    d.desired.push(emptyField());
    assert.deepEqual(fromDraft(d), doc);
  });

  it('offers the declared commands not described yet, and names hub error paths in words', () => {
    const d = toDraft(doc);
    assert.deepEqual(undescribed(['reboot', 'set_setpoint', 'ping', 'reboot'], d), ['ping', 'reboot']);
    assert.equal(pathInWords('commands.0.params.0.max', d), 'command set_setpoint, parameter setpoint, max');
    assert.equal(pathInWords('desired.0.values', d), 'desired key mode, values');
  });
});
