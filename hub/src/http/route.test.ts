// A 400 names the field and says what is wrong in words an operator reads, not in
// zod's ("Invalid input: expected number, received null"); a schema's own message stays.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { validationError } from './route.js';

function refusal(schema: z.ZodType, value: unknown): string {
  const r = schema.safeParse(value);
  assert.equal(r.success, false, `${JSON.stringify(value)} passed`);
  return validationError((r as { error: z.ZodError }).error, 'body').message;
}

describe('validation refusals in words', () => {
  const rule = z.strictObject({
    name: z.string().min(1).max(8),
    above: z.number(),
    hold: z.number().int().min(0).max(3_600),
    every: z.number().positive(),
    severity: z.enum(['info', 'warning', 'critical']),
    on: z.boolean(),
    tags: z.array(z.string()).min(1).max(2),
    kind: z.literal('threshold'),
    note: z.string().min(3, 'write at least three letters'),
  });
  const good = { name: 'hot', above: 30, hold: 60, every: 1, severity: 'info', on: true, tags: ['a'], kind: 'threshold', note: 'abc' };
  const cases: [Record<string, unknown>, string][] = [
    [{ above: null }, 'above: must be a number'],
    [{ above: undefined }, 'above: is required'],
    [{ on: 'yes' }, 'on: must be true or false'],
    [{ hold: 1.5 }, 'hold: must be a whole number'],
    [{ hold: -1 }, 'hold: must be at least 0'],
    [{ hold: 4_000 }, 'hold: must be at most 3600'],
    [{ every: 0 }, 'every: must be greater than 0'],
    [{ name: '' }, 'name: must not be empty'],
    [{ name: 'much-too-long' }, 'name: must be at most 8 characters'],
    [{ tags: [] }, 'tags: must not be empty'],
    [{ tags: ['a', 'b', 'c'] }, 'tags: must have at most 2 items'],
    [{ tags: [1] }, 'tags.0: must be a string'],
    [{ severity: 'loud' }, 'severity: must be one of "info", "warning", "critical"'],
    [{ kind: 'rate' }, 'kind: must be "threshold"'],
    [{ extra: 1 }, 'body: unknown field extra'],
    [{ note: 'ab' }, 'note: write at least three letters'],
  ];
  for (const [change, message] of cases) {
    it(`${JSON.stringify(change)} -> ${message}`, () => {
      assert.equal(refusal(rule, { ...good, ...change }), message);
    });
  }

  it('names the whole body when it is not an object', () => {
    assert.equal(refusal(rule, null), 'body: must be an object');
    assert.equal(refusal(rule, undefined), 'body: is required');
  });
});
