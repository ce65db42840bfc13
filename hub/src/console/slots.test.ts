import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsoleSlots } from './slots.js';

describe('ConsoleSlots', () => {
  it('refuses past either limit and gives slots back on release', () => {
    const s = new ConsoleSlots({ perOperator: 2, perAddress: 3 });
    s.take('ann', '10.0.0.1');
    assert.equal(s.refusal('ann', '10.0.0.1'), undefined);
    s.take('ann', '10.0.0.1');
    assert.match(s.refusal('ann', '10.0.0.2') ?? '', /ann already has 2/);
    assert.equal(s.refusal('bob', '10.0.0.1'), undefined);
    s.take('bob', '10.0.0.1');
    assert.match(s.refusal('cy', '10.0.0.1') ?? '', /3 consoles are already open from this address/);
    s.release('ann', '10.0.0.1');
    assert.equal(s.refusal('ann', '10.0.0.1'), undefined);
    assert.equal(s.refusal('cy', '10.0.0.1'), undefined);
  });
});
