import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogBudget } from './log.js';

describe('log budget', () => {
  it('gives a key its lines per window, then says once how many went unlogged, and starts again', async () => {
    let said: (v: [string, number]) => void = () => {};
    const summary = new Promise<[string, number]>((resolve) => {
      said = resolve;
    });
    const budget = new LogBudget({ lines: 2, windowMs: 30 }, (key, unlogged) => said([key, unlogged]));
    assert.deepEqual(
      [budget.take('a'), budget.take('a'), budget.take('a'), budget.take('a'), budget.take('b')],
      [true, true, false, false, true],
      'a third and fourth line of "a" wait; "b" has its own',
    );
    // The budget's timer does not hold the process open (unref): this one does, meanwhile.
    const keepAlive = setTimeout(() => {}, 5_000);
    assert.deepEqual(await summary, ['a', 2]);
    clearTimeout(keepAlive);
    assert.equal(budget.take('a'), true, 'a new window');
  });
});
