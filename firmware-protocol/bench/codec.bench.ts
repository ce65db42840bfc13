// Codec micro-benchmark: TELEMETRY with a 10-record SenML pack, decode and encode,
// beside JSON.parse / JSON.stringify of the same content measured in the same run.

import { type BenchRow, measure, parseBenchArgs, report } from '../../scripts/bench-lib.js';
import { decode, encode, type SenmlRecord, type Telemetry } from '../src/index.js';

const args = parseBenchArgs();
const pack: SenmlRecord[] = [
  { bn: 'urn:dev:mac:0024befffe804ff1:', bt: 1_764_000_000, bu: 'Cel', n: 'temperature', v: 21.5 },
  { n: 'humidity', u: '%RH', v: 40.25, t: 0 },
  { n: 'voltage', u: 'V', v: 229.7, t: 0 },
  { n: 'current', u: 'A', v: 1.25, t: 0 },
  { n: 'power', u: 'W', v: 287.1, t: 0 },
  { n: 'energy', u: 'J', v: 123456789, t: 0 },
  { n: 'rssi', u: 'dBW', v: -67, t: 0 },
  { n: 'battery', u: '%EL', v: 87, t: 0 },
  { n: 'door', vb: false, t: 0 },
  { n: 'state', vs: 'heating', t: 0 },
];
const message: Telemetry = { type: 3, seq: 123456, pack };
const cbor = encode(message);
const json = JSON.stringify([3, 123456, pack]);
const now = Date.now();

const seconds = args.tiny ? 0.02 : args.quick ? 0.3 : 1;
let sink = 0;
const results = measure(
  {
    'cbor decode': () => {
      const r = decode(cbor, { now, accept: 'uplink' });
      sink += r.ok ? 1 : 0;
    },
    'JSON.parse': () => {
      sink += (JSON.parse(json) as unknown[]).length;
    },
    'cbor encode': () => {
      sink += encode(message).length;
    },
    'JSON.stringify': () => {
      sink += JSON.stringify([3, 123456, pack]).length;
    },
  },
  { seconds, rounds: args.tiny ? 1 : args.quick ? 3 : 5 },
);
if (sink === 0) throw new Error('benchmark did no work');

const rows: BenchRow[] = [
  {
    scenario: 'codec',
    case: 'TELEMETRY 10 records: decode',
    value: results['cbor decode'] as number,
    unit: 'msg/s',
    baseline: 'JSON.parse',
    baselineValue: results['JSON.parse'] as number,
    extra: { bytes: cbor.length, jsonBytes: json.length },
  },
  {
    scenario: 'codec',
    case: 'TELEMETRY 10 records: encode',
    value: results['cbor encode'] as number,
    unit: 'msg/s',
    baseline: 'JSON.stringify',
    baselineValue: results['JSON.stringify'] as number,
  },
];
report(rows, args);
