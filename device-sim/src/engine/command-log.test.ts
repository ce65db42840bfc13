import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandStatus } from '@halyard/firmware-protocol';
import { CommandLog } from './command-log.js';

test('CommandLog remembers running and finished commands', () => {
  const log = new CommandLog(4);
  assert.equal(log.get('c-1'), undefined);
  log.start('c-1');
  assert.equal(log.get('c-1'), null);
  log.finish('c-1', { status: CommandStatus.Succeeded, body: { ok: true } });
  assert.deepEqual(log.get('c-1'), { status: CommandStatus.Succeeded, body: { ok: true } });
});

test('CommandLog forgets the oldest ids beyond its limit', () => {
  const log = new CommandLog(3);
  for (const id of ['a', 'b', 'c', 'd']) log.start(id);
  assert.equal(log.has('a'), false);
  assert.equal(log.has('d'), true);
  assert.equal(log.size, 3);
});
