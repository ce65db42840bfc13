// Data shaping for the device page: telemetry series (history + live), twin edits as
// merge patches, and command timelines.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyMergePatch, type CommandInfo } from '@halyard/firmware-protocol';
import { chartData } from '../src/lib/chart-data.ts';
import { commandsFromCaps, deadline, outcomeText, suggestedNames } from '../src/lib/command-outcome.ts';
import { isFinal, timeline, upsertCommand } from '../src/lib/command-timeline.ts';
import { fromEvent, fromPresence, isNewPresence, mergeFeed } from '../src/lib/feed.ts';
import { after, duration } from '../src/lib/format.ts';
import { parseJson } from '../src/lib/json.ts';
import { mergePatchBetween, nullPaths } from '../src/lib/merge-patch-diff.ts';
import { appendLive, durationParam, fromApi, latestFromApi, pickBucket, type Series, trimBefore } from '../src/lib/series.ts';
import { twinSync } from '../src/lib/twin-sync.ts';
import { displayUnit } from '../src/lib/units.ts';

describe('telemetry series', () => {
  it('picks buckets that fit the visible range', () => {
    assert.equal(pickBucket(5 * 60_000), undefined, 'five minutes: raw points');
    assert.equal(pickBucket(3_600_000), 10_000, 'an hour: 10 s buckets');
    assert.equal(pickBucket(86_400_000), 300_000, 'a day: 5 min');
    assert.equal(pickBucket(365 * 86_400_000), 86_400_000, 'never wider than a day');
    assert.deepEqual([10_000, 300_000, 3_600_000, 86_400_000, 1_500].map(durationParam), ['10s', '5m', '1h', '1d', '1500ms']);
  });

  it('reads raw and bucketed history', () => {
    const [temp, door, mode] = fromApi(
      [
        {
          name: 'temp',
          unit: 'Cel',
          points: [
            { t: 1, v: 20 },
            { t: 2, v: 21 },
            { t: 3, vd: 'AA==' },
          ],
          truncated: false,
        },
        {
          name: 'door',
          unit: null,
          points: [
            { t: 1, vb: true },
            { t: 2, vb: false },
          ],
          truncated: false,
        },
        { name: 'mode', unit: null, points: [{ t: 5, vs: 'eco' }], truncated: false },
      ],
      false,
    );
    assert.deepEqual([temp?.kind, temp?.xs, temp?.ys, temp?.latest], ['number', [1, 2], [20, 21], { time: 2, value: 21 }]);
    assert.deepEqual([door?.kind, door?.ys], ['bool', [1, 0]]);
    assert.deepEqual([mode?.kind, mode?.ys, mode?.latest?.value], ['text', [null], 'eco']);
    const [b] = fromApi(
      [{ name: 'temp', unit: 'Cel', points: [{ t: 0, avg: 20.5, min: 20, max: 21, count: 2, last: 21 }] }].map((s) => ({
        ...s,
        truncated: false,
      })),
      true,
    );
    assert.deepEqual(b?.ys, [20.5]);
  });

  it('appends live points in time order, replacing same-time points, and trims the window', () => {
    const series = new Map<string, Series>(
      fromApi(
        [
          {
            name: 'temp',
            unit: 'Cel',
            points: [
              { t: 10, v: 1 },
              { t: 20, v: 2 },
            ],
            truncated: false,
          },
        ],
        false,
      ).map((s) => [s.name, s]),
    );
    const changed = appendLive(series, [
      { name: 'temp', time: 30, value: 3 },
      { name: 'temp', time: 15, value: 1.5 },
      { name: 'temp', time: 20, value: 2.5 },
      { name: 'hum', time: 30, value: 40, unit: '%RH' },
    ]);
    assert.deepEqual([...changed], ['temp', 'hum']);
    const temp = series.get('temp') as Series;
    assert.deepEqual(temp.xs, [10, 15, 20, 30]);
    assert.deepEqual(temp.ys, [1, 1.5, 2.5, 3]);
    assert.deepEqual(temp.latest, { time: 30, value: 3 });
    assert.equal(series.get('hum')?.unit, '%RH', 'a new metric gets a series');
    appendLive(series, [{ name: 'temp', time: 5, value: 0 }]);
    assert.deepEqual(temp.latest, { time: 30, value: 3 }, 'a late point does not become the latest');
    trimBefore(temp, 15);
    assert.deepEqual(temp.xs, [15, 20, 30]);
  });

  it('reads latest values', () => {
    const m = latestFromApi([
      { name: 'temp', unit: 'Cel', t: 5, v: 21 },
      { name: 'raw', unit: null, t: 5, vd: 'AA==' },
    ]);
    assert.deepEqual([...m.keys()], ['temp']);
  });
});

describe('chart data', () => {
  it('breaks the line where the device was silent for several steps', () => {
    const s: Series = { name: 'v', unit: 'V', kind: 'number', xs: [0, 10, 20, 100, 110], ys: [1, 2, 3, 4, 5], latest: undefined };
    const d = chartData(s, undefined);
    assert.deepEqual(d.xs, [0, 10, 20, 60, 100, 110]);
    assert.deepEqual(d.ys, [1, 2, 3, null, 4, 5]);
    assert.deepEqual(chartData(s, 60).ys, [1, 2, 3, 4, 5], 'within three 60 ms buckets: one line');
  });

  it('scales SI units to the values and writes SenML units as people do', () => {
    assert.deepEqual(displayUnit('J', 7.32e9), { unit: 'MWh', factor: 1 / 3_600 / 1e6 });
    assert.deepEqual(displayUnit('W', 2_500), { unit: 'kW', factor: 1e-3 });
    assert.deepEqual(displayUnit('V', 230), { unit: 'V', factor: 1 });
    assert.equal(displayUnit('%EL', 80).unit, '%');
    assert.equal(displayUnit('Cel', 21).unit, '°C');
    const energy: Series = { name: 'e', unit: 'J', kind: 'number', xs: [0], ys: [7.2e9], latest: undefined };
    assert.deepEqual(chartData(energy, undefined).ys, [2]);
  });

  it('names bucket widths plainly', () => {
    assert.deepEqual([1_800_000, 5_000, 3_600_000, 86_400_000, 90_000].map(duration), ['30 min', '5 s', '1 h', '1 d', '90 s']);
  });
});

describe('twin edits', () => {
  it('turns an edited document into the merge patch that produces it', () => {
    const before = { mode: 'heat', setpoint: 21, sched: { mon: [1, 2], tue: 3 }, old: true };
    const after = { mode: 'heat', setpoint: 22, sched: { mon: [1, 2, 3] }, fresh: 'x' };
    const patch = mergePatchBetween(before, after);
    assert.deepEqual(patch, { old: null, setpoint: 22, sched: { mon: [1, 2, 3], tue: null }, fresh: 'x' });
    assert.deepEqual(applyMergePatch(before, patch), after);
    assert.deepEqual(mergePatchBetween(after, after), {});
  });

  it('refuses null values, which a merge patch cannot set', () => {
    assert.deepEqual(nullPaths({ a: null, b: { c: null, d: [null] } }), ['a', 'b.c']);
  });

  it('says where JSON is broken', () => {
    const r = parseJson('{\n  "a": 1,\n  "b": }');
    assert.equal(r.ok, false);
    assert.equal(r.ok ? '' : r.error, "not valid JSON: Unexpected token '}'");
    const p = parseJson('{"a": 1 "b": 2}');
    // Engines that give a position get line and column; others just the reason.
    assert.match(p.ok ? '' : p.error, /^not valid JSON( at line 1, column \d+)?: /);
  });
});

describe('twin sync', () => {
  const online = { online: true, lastSeen: 1_000, connectedAt: 500 };
  const twin = (delta: Record<string, number>, at: number) => ({
    delta,
    desiredUpdated: Object.fromEntries(Object.keys(delta).map((k) => [k, at])),
  });

  it('waits, then calls a key not applied after the limit, counting from a later connect', () => {
    assert.deepEqual(twinSync(twin({ fan: 1 }, 1_000), online, 2_000, 5_000), { state: 'waiting', keys: ['fan'], since: 1_000 });
    assert.equal(twinSync(twin({ fan: 1 }, 1_000), online, 6_000, 5_000).state, 'not-applied');
    assert.equal(twinSync(twin({ fan: 1 }, 1_000), { ...online, connectedAt: 4_000 }, 6_000, 5_000).state, 'waiting');
    assert.equal(twinSync(twin({}, 1_000), online, 6_000, 5_000).state, 'in-sync');
  });

  it('never calls a device that has never connected in sync, nor an offline one stuck', () => {
    assert.equal(twinSync(twin({}, 0), { online: false, lastSeen: null, connectedAt: null }, 1, 5).state, 'never');
    assert.equal(twinSync(twin({ fan: 1 }, 0), { online: false, lastSeen: 5, connectedAt: null }, 99, 5).state, 'offline');
  });
});

describe('events feed', () => {
  it('orders by received time, whatever the device clock says, with connects and disconnects', () => {
    const ev = (id: number, time: number, receivedAt: number) =>
      fromEvent({ id, device: 'd', name: `e${id}`, level: 1, data: null, time, receivedAt });
    const future = ev(1, 10_000_000, 1_000);
    const later = ev(2, 2_000, 2_000);
    const gone = fromPresence({ device: 'd', online: false, reason: 'timeout', code: 1006, at: 3_000 });
    const feed = mergeFeed(mergeFeed([], [future, later]), [gone, later]);
    assert.deepEqual(
      feed.map((e) => e.name),
      ['disconnected', 'e2', 'e1'],
    );
    assert.equal(gone.level, 2, 'a timeout is a warning');
    assert.equal(gone.data, 'timeout (close 1006, connection lost)');
    // The hub re-states an old connect with each last-seen refresh: not news.
    const connected = { device: 'd', online: true, reason: 'connected' as const, code: null, at: 1_000 };
    assert.equal(isNewPresence(connected, 60_000), false);
    assert.equal(isNewPresence({ ...connected, at: 61_000 }, 60_000), true);
    assert.equal(isNewPresence({ ...connected, online: false }, 60_000), true);
  });
});

describe('command timeline', () => {
  const base: CommandInfo = {
    id: 'c1',
    device: 'd',
    name: 'reboot',
    params: null,
    state: 'sent',
    key: null,
    createdAt: 100,
    createdBy: 'ann',
    ttl: 1,
    timeout: 1,
    result: null,
    error: null,
    history: [
      { state: 'queued', at: 100 },
      { state: 'sent', at: 110 },
    ],
  };

  it('shows the steps taken and the ones ahead', () => {
    assert.deepEqual(
      timeline(base).map((s) => [s.state, s.at, s.tone]),
      [
        ['queued', 100, 'good'],
        ['sent', 110, 'pending'],
        ['accepted', undefined, 'neutral'],
        ['result', undefined, 'neutral'],
      ],
    );
    const failed = { ...base, state: 'timed_out' as const, history: [...base.history, { state: 'timed_out' as const, at: 200 }] };
    assert.deepEqual(
      timeline(failed).map((s) => [s.state, s.tone]),
      [
        ['queued', 'good'],
        ['sent', 'good'],
        ['timed_out', 'bad'],
      ],
    );
    assert.equal(isFinal(failed), true);
  });

  it('never steps back when updates arrive out of order', () => {
    const done = { ...base, state: 'succeeded' as const, history: [...base.history, { state: 'succeeded' as const, at: 120 }] };
    let list = upsertCommand([], done);
    list = upsertCommand(list, base);
    assert.equal(list[0]?.state, 'succeeded');
    list = upsertCommand(list, { ...base, id: 'c2', createdAt: 300 });
    assert.deepEqual(
      list.map((c) => c.id),
      ['c2', 'c1'],
      'newest first',
    );
  });

  it('explains a rejection with its code and detail, and when an open command gives up', () => {
    const rejected = {
      ...base,
      state: 'rejected' as const,
      error: 'bad_params',
      result: { reason: 'bad_params', detail: 'expected 5 to 30' },
    };
    assert.equal(outcomeText(rejected), 'bad_params: expected 5 to 30');
    assert.equal(outcomeText({ ...rejected, result: null, error: 'rejected' }), 'the device gave no reason');
    assert.equal(
      outcomeText({ ...base, state: 'expired', ttl: 300_000 }),
      'not delivered within its TTL of 5 min 0 s: the device did not connect in time',
    );
    assert.equal(outcomeText(base), undefined);
    assert.deepEqual(deadline({ ...base, state: 'queued', ttl: 60_000 }), { what: 'expires', at: 60_100 });
    assert.deepEqual(deadline({ ...base, timeout: 30_000 }), { what: 'times out', at: 30_110 });
  });

  it('writes delays in seconds and minutes', () => {
    assert.deepEqual([850, 18_075, 302_000].map(after), ['+850 ms', '+18.1 s', '+5 min 2 s']);
  });

  it('suggests names from history and built-ins, without those the device does not know', () => {
    const used = (name: string, state: CommandInfo['state'], reason?: string) => ({
      ...base,
      name,
      state,
      result: reason ? { reason } : null,
    });
    assert.deepEqual(
      suggestedNames(
        [
          used('set_setpoint', 'succeeded'),
          used('frobnicate', 'rejected', 'unknown_command'),
          used('reboot', 'rejected', 'unknown_command'),
        ],
        ['ping', 'reboot'],
      ),
      ['set_setpoint', 'ping'],
    );
  });

  it('suggests what the device declared in HELLO caps first, then history; built-ins only when it declared none', () => {
    assert.deepEqual(commandsFromCaps(['commands', 'twin', 'cmd:reboot', 'cmd:set', 'cmd:']), ['reboot', 'set']);
    assert.deepEqual(commandsFromCaps(undefined), []);
    const used = (name: string, state: CommandInfo['state'], reason?: string) => ({
      ...base,
      name,
      state,
      result: reason ? { reason } : null,
    });
    assert.deepEqual(
      suggestedNames(
        [used('calibrate', 'succeeded'), used('set', 'rejected', 'unknown_command'), used('gone', 'rejected', 'unknown_command')],
        ['ping', 'reboot'],
        ['reboot', 'set', 'gone'],
      ),
      ['reboot', 'set', 'gone', 'calibrate'],
    );
  });
});
