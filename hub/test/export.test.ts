// Exports over real HTTP: CSV (header, units, RFC 4180 quoting, the formula guard)
// and NDJSON of telemetry, buckets, a fleet selection, events, the audit log and
// the device list; a client that stops reading holds the hub at a page, and one
// that disconnects ends the export. Runs on the test store (SQLite, or PostgreSQL
// with HALYARD_TEST_STORE=postgres).

import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { MessageType, type SenmlRecord } from '@halyard/firmware-protocol';
import { TestDevice } from './helpers/device.js';
import { eventually } from './helpers/eventually.js';
import type { Api } from './helpers/hub.js';
import { startHubWithRoles, type TestHub } from './helpers/hub.js';

/** Parses RFC 4180 CSV (quoted fields, doubled quotes, CRLF). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += ch;
  }
  assert.equal(field, '', 'the file ends with CRLF');
  return rows;
}

describe('exports', () => {
  let t: TestHub;
  let viewer: Api;
  let base: number;
  before(async () => {
    ({ t, viewer } = await startHubWithRoles());
    base = Math.floor(Date.now() / 1000) - 3_000;
  });
  after(() => t.close());

  async function download(path: string, api: Api = t.api): Promise<{ status: number; type: string; disposition: string; text: string }> {
    const res = await fetch(`${t.http}/api/v1${path}`, { headers: { authorization: `Bearer ${api.token}` } });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      disposition: res.headers.get('content-disposition') ?? '',
      text: await res.text(),
    };
  }

  it("exports a device's telemetry as CSV with a header, units, quoting and the formula guard", async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-1', { tags: ['export'] }));
    const pack: SenmlRecord[] = [];
    for (let i = 0; i < 50; i++) pack.push({ bt: base + i, n: 'temp', u: 'Cel', v: -5 + i / 2 });
    pack.push({ bt: base, n: 'note', vs: '=HYPERLINK("http://evil","x")' }, { t: 1, n: 'note', vs: 'a,b\r\nc' });
    await d.waitAck(d.telemetry(pack));
    const r = await download(`/devices/exp-1/telemetry/export?format=csv&from=${base * 1000}&to=${(base + 100) * 1000}`);
    assert.equal(r.status, 200);
    assert.match(r.type, /^text\/csv/);
    assert.equal(r.disposition, 'attachment; filename="exp-1-telemetry.csv"');
    const rows = parseCsv(r.text);
    assert.deepStrictEqual(rows[0], ['time', 'ts', 'device', 'metric', 'unit', 'value']);
    assert.equal(rows.length, 1 + 52);
    assert.deepStrictEqual(rows[1], [
      new Date(base * 1000).toISOString(),
      String(base * 1000),
      'exp-1',
      'note',
      '',
      `'=HYPERLINK("http://evil","x")`,
    ]);
    assert.deepStrictEqual(rows[2]?.slice(5), ['a,b\r\nc']);
    const temps = rows.filter((row) => row[3] === 'temp');
    assert.equal(temps.length, 50);
    assert.deepStrictEqual(temps[0]?.slice(2), ['exp-1', 'temp', 'Cel', '-5']);
    assert.deepStrictEqual(temps[49]?.slice(1), [String((base + 49) * 1000), 'exp-1', 'temp', 'Cel', '19.5']);
    await d.close();
  });

  it("a bucketed export over a sparse range has every point's bucket, across windows it skipped", async () => {
    // 1 s buckets: windows of 10,000 s, most of them empty; the export skips from an
    // empty window to the next point (export/telemetry.ts, bucketPages).
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-sparse'));
    const span = 10_000;
    const boundary = Math.ceil((base - 86_400) / span) * span;
    const times = [base - 2 * 86_400, base - 2 * 86_400, boundary - 1, boundary, boundary + 3 * span + 17, base];
    await d.waitAck(d.telemetry(times.map((bt, i) => ({ bt, n: 'temp', u: 'Cel', v: i }))));
    const range = `from=${(base - 3 * 86_400) * 1000}&to=${(base + 1_000) * 1000}`;
    const rows = parseCsv((await download(`/devices/exp-sparse/telemetry/export?bucket=1s&agg=count,max&${range}`)).text);
    assert.deepStrictEqual(
      rows.slice(1).map((r) => [Number(r[1]), Number(r[5]), Number(r[6])]),
      [
        [(base - 2 * 86_400) * 1000, 2, 1],
        [(boundary - 1) * 1000, 1, 2],
        [boundary * 1000, 1, 3],
        [(boundary + 3 * span + 17) * 1000, 1, 4],
        [base * 1000, 1, 5],
      ],
    );
    await d.close();
  });

  it('exports NDJSON, buckets, and a fleet selection by tag', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-2', { tags: ['export'] }));
    const pack: SenmlRecord[] = [];
    for (let i = 0; i < 120; i++) pack.push({ bt: base + i, n: 'temp', u: 'Cel', v: i });
    await d.waitAck(d.telemetry(pack));
    await t.api.provision('exp-untagged');
    const range = `from=${base * 1000}&to=${(base + 119) * 1000}`;
    const nd = await download(`/devices/exp-2/telemetry/export?format=ndjson&name=temp&${range}`, viewer);
    assert.match(nd.type, /^application\/x-ndjson/);
    const lines = nd.text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 120);
    assert.deepStrictEqual(lines[7], { device: 'exp-2', metric: 'temp', unit: 'Cel', t: (base + 7) * 1000, v: 7 });

    const bucketed = parseCsv((await download(`/devices/exp-2/telemetry/export?bucket=1m&agg=count,max&${range}`)).text);
    assert.deepStrictEqual(bucketed[0], ['time', 'ts', 'device', 'metric', 'unit', 'count', 'max']);
    const counted = bucketed.slice(1).reduce((n, row) => n + Number(row[5]), 0);
    assert.equal(counted, 120);

    const fleet = parseCsv((await download(`/export/telemetry?tag=export&name=temp&${range}`)).text);
    const devices = new Set(fleet.slice(1).map((row) => row[2]));
    assert.deepStrictEqual([...devices], ['exp-1', 'exp-2']);
    assert.equal(
      fleet.length,
      1 + 120 + 50 - 0 - fleet.slice(1).filter((row) => row[2] === 'exp-1' && Number(row[1]) > (base + 119) * 1000).length,
    );
    await d.close();
  });

  it('exports events, the audit log (admins only) and the device list', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-ev'));
    for (let i = 0; i < 3; i++) {
      d.seq++;
      d.send({ type: MessageType.Event, seq: d.seq, name: `alert${i}`, level: 2, data: i === 0 ? '-1+1' : { i } });
    }
    await eventually(async () => (await t.api.get('/events?device=exp-ev')).body.events.length === 3, 'events stored');
    const ev = parseCsv((await download('/export/events?device=exp-ev', viewer)).text);
    assert.deepStrictEqual(ev[0], ['id', 'device', 'name', 'level', 'time', 'received', 'data']);
    assert.deepStrictEqual(
      ev.slice(1).map((row) => [row[1], row[2], row[6]]),
      [
        ['exp-ev', 'alert2', '{"i":2}'],
        ['exp-ev', 'alert1', '{"i":1}'],
        ['exp-ev', 'alert0', '"-1+1"'],
      ],
    );

    assert.equal((await download('/export/audit', viewer)).status, 403);
    const audit = parseCsv((await download('/export/audit?format=csv')).text);
    assert.deepStrictEqual(audit[0], ['id', 'at', 'actor', 'action', 'target', 'detail']);
    assert.ok(audit.some((row) => row[2] === 'admin' && row[3] === 'device.create' && row[4] === 'exp-ev'));

    const list = parseCsv((await download('/export/devices?tag=export', viewer)).text);
    assert.deepStrictEqual(
      list.slice(1).map((row) => [row[0], row[4]]),
      [
        ['exp-1', 'export'],
        ['exp-2', 'export'],
      ],
    );
    await d.close();
  });

  it('exports events a page of 500 at a time: all of them, each once, newest first', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-many'));
    for (let i = 0; i < 1_050; i++) {
      d.seq++;
      d.send({ type: MessageType.Event, seq: d.seq, name: 'tick', level: 1, data: { i } });
    }
    await d.waitAck(d.seq, 30_000);
    await d.close();
    const rows = (await download('/export/events?device=exp-many&format=ndjson', viewer)).text.trimEnd().split('\n');
    const seen = rows.map((l) => (JSON.parse(l) as { data: { i: number } }).data.i);
    assert.deepStrictEqual(
      seen,
      Array.from({ length: 1_050 }, (_, k) => 1_049 - k),
    );
  });

  it('selections come out in device id order, whatever order the devices were created or named in', async () => {
    const range = `from=${base * 1000}&to=${(base + 10) * 1000}`;
    for (const id of ['ord-c', 'ord-a', 'ord-b']) {
      const d = await TestDevice.connect(t.ws, await t.api.provision(id, { tags: ['order'] }));
      await d.waitAck(d.telemetry([{ bt: base, n: 'temp', v: 1 }]));
      await d.close();
    }
    const devicesOf = (csv: string) =>
      parseCsv(csv)
        .slice(1)
        .map((row) => row[0]);
    assert.deepStrictEqual(devicesOf((await download('/export/devices?tag=order', viewer)).text), ['ord-a', 'ord-b', 'ord-c']);
    const metricDevices = (csv: string) =>
      parseCsv(csv)
        .slice(1)
        .map((row) => row[2]);
    // The whole fleet, filtered by tag: the order the fleet keeps.
    assert.deepStrictEqual(metricDevices((await download(`/export/telemetry?tag=order&${range}`)).text), ['ord-a', 'ord-b', 'ord-c']);
    // Named devices, sorted for the export.
    assert.deepStrictEqual(metricDevices((await download(`/export/telemetry?devices=ord-c,ord-a&${range}`)).text), ['ord-a', 'ord-c']);
  });

  it('exports alarms with the values that raised them', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-al'));
    const r = await t.api.post('/alarm-rules', {
      name: '=hot',
      severity: 'major',
      selector: { devices: ['exp-al'] },
      condition: { kind: 'metric', metric: 'temp', above: 30 },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await d.waitAck(d.telemetry([{ n: 'temp', v: 35 }]));
    await eventually(async () => (await t.api.get('/alarms?device=exp-al')).body.alarms.length === 1, 'the alarm raised');
    const rows = parseCsv((await download('/export/alarms?device=exp-al', viewer)).text);
    assert.deepStrictEqual(rows[0]?.slice(0, 10), [
      'id',
      'device',
      'rule',
      'rule_name',
      'severity',
      'state',
      'kind',
      'message',
      'raised_at',
      'raised_value',
    ]);
    assert.equal(rows.length, 2);
    assert.deepStrictEqual(rows[1]?.slice(1, 7), ['exp-al', r.body.id, "'=hot", 'major', 'active', 'metric']);
    assert.equal(rows[1]?.[9], '35');
    const nd = (await download('/export/alarms?format=ndjson&state=active&severity=major')).text.trimEnd().split('\n');
    assert.ok(nd.map((l) => JSON.parse(l)).some((a) => a.device === 'exp-al' && a.raisedValue === 35));
    await d.close();
  });

  it('refuses a bad format and an unknown device', async () => {
    assert.equal((await download('/devices/exp-1/telemetry/export?format=xlsx')).status, 400);
    assert.equal((await download('/devices/nobody/telemetry/export')).status, 404);
  });

  it('reads no further than a slow client takes, and stops when it disconnects', async () => {
    const d = await TestDevice.connect(t.ws, await t.api.provision('exp-big'));
    const total = 200_000;
    let last = 0;
    for (let i = 0; i < total; i += 1_000) {
      const pack: SenmlRecord[] = [{ bt: base, n: 'big', v: i }];
      for (let j = 1; j < 1_000; j++) pack.push({ t: (i + j) / 1000, n: 'big', v: i + j });
      last = d.telemetry(pack);
    }
    // 200,000 points: more than loopback's socket buffers hold. PostgreSQL on a loaded machine takes a while.
    await d.waitAck(last, 120_000);
    await d.close();
    const ended = () => t.logs.find((l) => l.msg === 'export ended' && l.filename === 'exp-big-telemetry');
    await new Promise<void>((resolve, reject) => {
      const req = request(`${t.http}/api/v1/devices/exp-big/telemetry/export?from=${base * 1000}&to=${(base + 1_000) * 1000}`, {
        headers: { authorization: `Bearer ${t.api.token}` },
      });
      req.on('response', (res) => {
        res.once('data', () => {
          // Stop reading: the hub fills the socket's buffers and waits; then hang up.
          res.pause();
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    await eventually(() => ended() !== undefined, 'the export ends');
    const line = ended() as unknown as { rows: number; aborted: boolean };
    assert.equal(line.aborted, true);
    assert.ok(line.rows < total, `read ${line.rows} of ${total} rows`);
    // The slot is back: another export runs.
    assert.equal((await download('/devices/exp-1/telemetry/export?name=temp')).status, 200);
  });
});
