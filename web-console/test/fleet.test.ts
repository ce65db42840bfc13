// The fleet store (live updates coalesced to one notification per frame) and the
// fleet table's query: URL round trip, status counts, search and sort.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeviceInfo } from '@halyard/firmware-protocol';
import { countByStatus, DEFAULT_QUERY, naturalCompare, parseQuery, rttText, selectIds, toSearch } from '../src/lib/fleet-query.ts';
import { parseTags, tagsError } from '../src/lib/tags.ts';
import { FleetStore } from '../src/state/fleet-store.ts';
import { FakeFrames } from './fakes.ts';

function device(id: string, o: Partial<DeviceInfo> = {}): DeviceInfo {
  return {
    id,
    name: null,
    model: null,
    firmware: null,
    tags: [],
    createdAt: 0,
    revoked: false,
    online: false,
    lastSeen: null,
    rtt: null,
    connectedAt: null,
    lastSeq: 0,
    pendingCommands: 0,
    caps: [],
    ...o,
  };
}

describe('fleet store', () => {
  it('coalesces a burst of updates into one notification per frame', () => {
    const frames = new FakeFrames();
    const store = new FleetStore(frames.schedule);
    let notified = 0;
    store.subscribe(() => notified++);
    store.apply({ t: 'fleet', devices: Array.from({ length: 5_000 }, (_, i) => device(`d${i}`)) });
    for (let i = 0; i < 5_000; i++) {
      store.apply({
        t: 'presence',
        presence: { device: `d${i}`, online: true, reason: 'connected', code: null, at: 10 },
        rtt: 4,
        lastSeen: 10,
      });
    }
    assert.equal(notified, 0, 'nothing before the frame');
    assert.equal(frames.waiting, 1, 'one frame requested for 5,001 updates');
    frames.flush();
    assert.equal(notified, 1);
    assert.equal(store.get('d42')?.online, true);
    assert.equal(store.get('d42')?.connectedAt, 10);
    assert.equal(countByStatus(store.values()).online, 5_000);
  });

  it('moves rows only for changes that can reorder them', () => {
    const frames = new FakeFrames();
    const store = new FleetStore(frames.schedule);
    store.apply({ t: 'fleet', devices: [device('a', { online: true, lastSeen: 1 })] });
    const s0 = store.structure;
    const before = store.get('a');
    store.apply({ t: 'presence', presence: { device: 'a', online: true, reason: 'connected', code: null, at: 1 }, rtt: 9, lastSeen: 50 });
    assert.equal(store.structure, s0, 'a last-seen refresh does not reorder');
    assert.notEqual(store.get('a'), before, 'but the row object is new, so it re-renders');
    assert.equal(store.get('a')?.lastSeen, 50);
    store.apply({
      t: 'presence',
      presence: { device: 'a', online: false, reason: 'timeout', code: null, at: 60 },
      rtt: null,
      lastSeen: 55,
    });
    assert.equal(store.structure, s0 + 1, 'going offline does');
    assert.equal(store.get('a')?.rtt, 9, 'a missing RTT keeps the last one');
    store.apply({ t: 'device.removed', id: 'a' });
    assert.equal(store.size, 0);
    store.apply({ t: 'presence', presence: { device: 'gone', online: true, reason: 'connected', code: null, at: 1 }, rtt: 1, lastSeen: 1 });
    assert.equal(store.size, 0, 'presence of an unknown device is ignored');
  });

  it('keeps the last known fleet while the channel is down, until the next snapshot', () => {
    const frames = new FakeFrames();
    const store = new FleetStore(frames.schedule);
    store.apply({ t: 'fleet', devices: [device('a')] });
    store.stale(123);
    store.stale(456);
    assert.deepEqual([store.loaded, store.staleSince, store.size], [true, 123, 1], 'the first drop is the one shown');
    store.apply({ t: 'fleet', devices: [device('a'), device('b')] });
    assert.deepEqual([store.staleSince, store.size], [undefined, 2]);
  });
});

describe('fleet query', () => {
  const fleet = [
    device('sim-10', { online: true, model: 'thermo', tags: ['lab', 'floor-2'], lastSeen: 100, rtt: 12 }),
    device('sim-2', { online: false, model: 'relay', firmware: '1.2.0', lastSeen: 50, name: 'Boiler' }),
    device('sim-1', { online: false, lastSeen: null, pendingCommands: 2 }),
    device('old-1', { revoked: true, lastSeen: 10, tags: ['lab'] }),
  ];

  it('round-trips through the URL, leaving out defaults', () => {
    assert.equal(toSearch(DEFAULT_QUERY), '');
    const q = { status: 'online', q: 'tag:lab boiler', sort: 'lastSeen', dir: 'desc' } as const;
    assert.deepEqual(parseQuery(toSearch(q)), q);
    assert.deepEqual(parseQuery('?status=bogus&sort=nope'), DEFAULT_QUERY, 'unknown values fall back');
  });

  it('counts by status', () => {
    assert.deepEqual(countByStatus(fleet), { all: 4, online: 1, offline: 2, never: 1, revoked: 1, pending: 1 });
  });

  it('filters by status and free text, with field tokens', () => {
    const ids = (q: Partial<typeof DEFAULT_QUERY>) => selectIds(fleet, { ...DEFAULT_QUERY, ...q });
    assert.deepEqual(ids({ status: 'offline' }), ['sim-1', 'sim-2']);
    assert.deepEqual(ids({ status: 'pending' }), ['sim-1']);
    assert.deepEqual(ids({ q: 'boiler' }), ['sim-2']);
    assert.deepEqual(ids({ q: 'tag:lab' }), ['old-1', 'sim-10']);
    assert.deepEqual(ids({ q: 'tag:lab model:thermo' }), ['sim-10']);
    assert.deepEqual(ids({ q: 'fw:1.2.0' }), ['sim-2']);
  });

  it('sorts numerically-aware, with missing values last in both directions', () => {
    const ids = (q: Partial<typeof DEFAULT_QUERY>) => selectIds(fleet, { ...DEFAULT_QUERY, ...q });
    assert.deepEqual(ids({}), ['old-1', 'sim-1', 'sim-2', 'sim-10'], 'sim-2 before sim-10');
    assert.deepEqual(ids({ sort: 'lastSeen', dir: 'desc' }), ['sim-10', 'sim-2', 'old-1', 'sim-1']);
    assert.deepEqual(ids({ sort: 'lastSeen', dir: 'asc' }), ['old-1', 'sim-2', 'sim-10', 'sim-1']);
    assert.deepEqual(ids({ sort: 'status' }), ['sim-10', 'sim-2', 'sim-1', 'old-1']);
    assert.deepEqual(ids({ sort: 'name', dir: 'desc' }), ['sim-2', 'old-1', 'sim-1', 'sim-10']);
  });

  it('compares text naturally', () => {
    const sorted = ['sim-10', 'Sim-2', 'sim-02b', 'sim-1', 'a', 'sim-010', 'sim-', 'sim-9x'].sort(naturalCompare);
    assert.deepEqual(sorted, ['a', 'sim-', 'sim-1', 'Sim-2', 'sim-02b', 'sim-9x', 'sim-010', 'sim-10']);
  });

  it('selects from 5,000 devices quickly', (t) => {
    const many = Array.from({ length: 5_000 }, (_, i) => device(`dev-${i}`, { lastSeen: (i * 7919) % 5_000, online: i % 3 === 0 }));
    const t0 = performance.now();
    const ids = selectIds(many, { ...DEFAULT_QUERY, sort: 'lastSeen', dir: 'desc', status: 'online', q: 'dev' });
    const ms = performance.now() - t0;
    assert.equal(ids.length, 1_667);
    // The figure to watch is the diagnostic (a few ms on a quiet machine); the 100 ms
    // bound this had can fail on a loaded one with nothing wrong, so the bound only
    // catches a selection gone quadratic (seconds at this size).
    t.diagnostic(`selected 1,667 of 5,000 in ${ms.toFixed(1)} ms`);
    assert.ok(ms < 1_000, `took ${ms.toFixed(1)} ms`);
  });
});

describe('device fields as edited and shown', () => {
  it('parses tags and refuses duplicates in words', () => {
    assert.deepEqual(parseTags(' lab, ,floor-2 '), ['lab', 'floor-2']);
    assert.equal(tagsError(parseTags('lab, floor-2, lab')), '"lab" is listed twice');
    assert.equal(tagsError(['lab']), undefined);
  });

  it('shows an RTT only for a device online now', () => {
    assert.equal(rttText({ online: true, rtt: 12.4 }), '12 ms');
    assert.equal(rttText({ online: false, rtt: 12.4 }), '–');
  });
});
