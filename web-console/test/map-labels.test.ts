// Map labels (lib/map-labels.ts): right of the marker, else left, else none, never
// over another label nor past the map's edge.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { placeLabels } from '../src/lib/map-labels.ts';

describe('map labels', () => {
  it('go right of their marker when there is room', () => {
    assert.deepEqual(
      placeLabels(
        [
          { x: 50, y: 50, text: 'pump-1' },
          { x: 50, y: 100, text: 'pump-2' },
        ],
        400,
      ),
      ['right', 'right'],
    );
  });

  it('go left at the right edge instead of being cut', () => {
    assert.deepEqual(placeLabels([{ x: 390, y: 50, text: 'tracker-0001' }], 400), ['left']);
  });

  it('give way rather than pile up: a marker among others keeps its tooltip only', () => {
    const pile = Array.from({ length: 5 }, (_, i) => ({ x: 200 + i, y: 200 + i, text: `tracker-000${i}` }));
    const sides = placeLabels(pile, 400);
    assert.deepEqual(sides.slice(0, 2), ['right', 'left']);
    assert.deepEqual(sides.slice(2), [null, null, null]);
  });

  it('a label too wide for either side is left out', () => {
    assert.deepEqual(placeLabels([{ x: 30, y: 10, text: 'a-very-long-device-identifier' }], 60), [null]);
  });
});
