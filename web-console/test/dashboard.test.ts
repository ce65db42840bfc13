import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeDashboard, encodeDashboard, fetchDashboard, parseDashboard, STARTER, thresholdState } from '../src/lib/dashboard.ts';

describe('dashboard layouts', () => {
  it('survive the URL round trip, text in any script included', () => {
    const d = {
      panels: [
        ...STARTER.panels,
        { kind: 'chart' as const, title: 'Température', metric: 'temperature', devices: ['a', 'b'], minutes: 60 },
        { kind: 'value' as const, title: 'v', device: 'a', metric: 'battery', warn: 30, alarm: 10, below: true },
      ],
    };
    assert.deepEqual(decodeDashboard(encodeDashboard(d)), d);
    assert.match(encodeDashboard(d), /^[A-Za-z0-9_-]+$/, 'URL-safe');
  });

  it('drop what a shared link should not carry: unknown kinds, missing fields, wrong types', () => {
    const d = parseDashboard({
      panels: [
        { kind: 'script', title: 'x' },
        { kind: 'chart', title: 'no devices', metric: 'm', devices: [] },
        { kind: 'value', title: 'no metric', device: 'a' },
        { kind: 'events', title: 'huge', limit: 1e9 },
        { kind: 'count', title: 'c', by: 'nonsense' },
      ],
    });
    assert.deepEqual(d, {
      panels: [
        { kind: 'events', title: 'huge', limit: 100 },
        { kind: 'count', title: 'c', by: 'status' },
      ],
    });
    assert.equal(decodeDashboard('not base64 json!'), undefined);
    assert.equal(parseDashboard({}), undefined);
  });

  it('colour by thresholds, upper or lower limits', () => {
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 25), 'ok');
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 30), 'warn');
    assert.equal(thresholdState({ warn: 30, alarm: 40 }, 41), 'alarm');
    assert.equal(thresholdState({ warn: 30, alarm: 10, below: true }, 9), 'alarm');
    assert.equal(thresholdState({ warn: 30, alarm: 10, below: true }, 50), 'ok');
  });
});

describe('the dashboard from the hub', () => {
  const store = new Map<string, string>();
  const ls = {
    getItem: (k: string) => store.get(k) ?? null,
    setItem: (k: string, v: string) => {
      store.set(k, v);
    },
  };
  const old = { panels: [{ kind: 'events' as const, title: 'Old', limit: 5 }] };

  it("takes the hub's copy, else moves this browser's up to the hub, else has none", async () => {
    (globalThis as { localStorage?: unknown }).localStorage = ls;
    try {
      const saves: unknown[] = [];
      const hub = (d: { panels: unknown[]; updatedAt: number | null }) => ({
        get: async () => d,
        save: async (x: unknown) => {
          saves.push(x);
        },
      });
      assert.equal(await fetchDashboard('ann', hub({ panels: [], updatedAt: null })), undefined);
      store.set('halyard.dashboard.ann', JSON.stringify(old));
      assert.deepEqual(await fetchDashboard('ann', hub({ panels: [], updatedAt: null })), { dashboard: old, migrated: true });
      assert.deepEqual(saves, [old]);
      assert.deepEqual(await fetchDashboard('ann', hub({ ...STARTER, updatedAt: 1 })), { dashboard: STARTER, migrated: false });
      assert.deepEqual(JSON.parse(store.get('halyard.dashboard.ann') as string), STARTER, "the browser's copy follows the hub");
      assert.equal(saves.length, 1);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });
});
