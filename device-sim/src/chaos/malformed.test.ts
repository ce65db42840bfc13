import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '@halyard/firmware-protocol';
import { isChaotic } from './chaos.js';
import { MALFORMED_KINDS, malformedFrame } from './malformed.js';

test('every malformed frame is refused by the reference decoder as uplink, or is a text frame or a second HELLO', () => {
  for (let i = 0; i < MALFORMED_KINDS; i++) {
    const f = malformedFrame(i);
    if (!f.binary) continue; // text messages are malformed on this channel whatever they hold
    if (f.kind === 'second-hello') continue; // valid bytes; malformed by its place in the session
    const d = decode(f.data as Uint8Array, { accept: 'uplink' });
    assert.equal(d.ok, false, `${f.kind} decoded`);
  }
});

test('isChaotic spreads the share evenly', () => {
  const picked = Array.from({ length: 100 }, (_, i) => isChaotic(i, 0.25)).filter(Boolean).length;
  assert.equal(picked, 25);
  assert.equal(isChaotic(0, 1), true);
  assert.deepEqual(
    Array.from({ length: 4 }, (_, i) => isChaotic(i, 0.5)),
    [false, true, false, true],
  );
});
