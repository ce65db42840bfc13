// Writes test-vectors/*.json: the conformance suite for firmware authors (SPEC.md §11).
// Valid vectors are encoded by this package's encoder and independently checked by
// cbor-x in vectors.test.ts; invalid vectors are written by hand, byte by byte.
//
//   npm run vectors -w @halyard/firmware-protocol

import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { DEFAULT_LIMITS, decode, type Encodable, encode, encodeCbor, type Message, signedBytes } from '../src/index.js';
import { toJson } from './vector-json.js';

const NOW = 1_764_000_000_000; // 2025-11-24T16:00:00Z, the "now" of relative SenML times
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
// Fixed bytes standing for a digest and a signature: the codec checks their lengths, not their meaning.
const SHA256 = new Uint8Array(Buffer.from('3f1c9a0e5b7d2c4486a1f0e9d8c7b6a5948372615049382716a5b4c3d2e1f0a9', 'hex'));
const SIG = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);

interface Valid {
  name: string;
  description: string;
  message: Message;
  accept?: 'uplink' | 'downlink';
}

const valid: Valid[] = [
  {
    name: 'hello-minimal',
    description: 'HELLO with the required fields only',
    message: { type: 1, proto: 1, fw: '1.0.0', model: 'esp32-devkit' },
  },
  {
    name: 'hello-full',
    description: 'HELLO with boot counter and capabilities',
    message: { type: 1, proto: 1, fw: '2.3.1-rc1', model: 'thermostat-t2', boot: 42, caps: ['commands', 'twin'] },
  },
  {
    name: 'welcome',
    description: 'WELCOME: last durable seq 1234, ping every 30 s, 64 KiB frames',
    message: { type: 2, acked: 1234, ping: 30, maxFrame: 65536, time: NOW, session: 's-7f3a9c' },
  },
  {
    name: 'telemetry-single',
    description: 'one record, no time: the record is stamped with the receiver\'s "now"',
    message: { type: 3, seq: 1, pack: [{ n: 'temperature', u: 'Cel', v: 21.5 }] },
  },
  {
    name: 'telemetry-base-fields',
    description: 'base name, base time and base unit carried to later records; relative offsets',
    message: {
      type: 3,
      seq: 2,
      pack: [
        { bn: 'urn:dev:mac:0024befffe804ff1:', bt: 1_764_000_000, bu: 'A', n: 'current', t: -5, v: 1.2 },
        { n: 'current', t: -4, v: 1.25 },
        { n: 'voltage', u: 'V', t: -4, v: 229.75 },
      ],
    },
  },
  {
    name: 'telemetry-relative-time',
    description: 'times below 2^28 are relative to now; base value added to v',
    message: {
      type: 3,
      seq: 3,
      pack: [
        { bn: 'pump.', bv: 100, n: 'speed', t: -10, v: 5 },
        { n: 'speed', t: -5, v: 7 },
      ],
    },
  },
  {
    name: 'telemetry-value-kinds',
    description: 'string, boolean, data and sum values; float64 and negative integers',
    message: {
      type: 3,
      seq: 4,
      pack: [
        { n: 'state', vs: 'heating', t: 0 },
        { n: 'door', vb: true },
        { n: 'blob', vd: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) },
        { n: 'energy', u: 'J', s: 123456 },
        { n: 'offset', v: 0.1 },
        { n: 'depth', v: -40 },
      ],
    },
  },
  {
    name: 'telemetry-time-range-ends',
    description: 'the earliest and the latest times allowed: 1970-01-01T00:00:00Z (relative to now) and 2199-12-31T23:59:59Z',
    message: {
      type: 3,
      seq: 8,
      pack: [
        { n: 'first', t: -1_764_000_000, v: 1 },
        { n: 'last', t: 7_258_118_399, v: 2 },
      ],
    },
  },
  { name: 'ack', description: 'cumulative ACK of everything up to 4096', message: { type: 4, seq: 4096 } },
  { name: 'event-minimal', description: 'EVENT with a name only: level info, time now', message: { type: 5, seq: 5, name: 'opened' } },
  {
    name: 'event-full',
    description: 'EVENT with level, data and an absolute SenML time',
    message: { type: 5, seq: 6, name: 'over_current', level: 2, data: { amps: 16.5, limit: 16, phases: [1, 3] }, t: 1_764_000_000.25 },
  },
  {
    name: 'command',
    description: 'COMMAND with params and a deadline',
    message: { type: 6, id: 'c-01JD2K8W4M', name: 'set_setpoint', params: { setpoint: 21.5 }, deadline: NOW + 30_000 },
  },
  {
    name: 'command-null-params',
    description: 'COMMAND whose params are null',
    message: { type: 6, id: 'c-2', name: 'reboot', params: null, deadline: NOW },
  },
  { name: 'cmd-accepted', description: 'CMD_ACCEPTED', message: { type: 7, id: 'c-01JD2K8W4M' } },
  {
    name: 'cmd-result-succeeded',
    description: 'CMD_RESULT succeeded with a body',
    message: { type: 8, id: 'c-01JD2K8W4M', status: 0, body: { setpoint: 21.5 } },
  },
  { name: 'cmd-result-failed', description: 'CMD_RESULT failed, no body', message: { type: 8, id: 'c-2', status: 1 } },
  {
    name: 'cmd-result-rejected',
    description: 'CMD_RESULT rejected: unknown command',
    message: { type: 8, id: 'c-3', status: 2, body: { reason: 'unknown_command' } },
  },
  {
    name: 'desired',
    description: 'DESIRED: version 7 and the whole document',
    message: { type: 9, version: 7, desired: { setpoint: 21, mode: 'heat', schedule: { weekday: [6, 22] } } },
  },
  {
    name: 'reported',
    description: 'REPORTED merge patch: null deletes a key',
    message: { type: 10, seq: 7, patch: { setpoint: 21, mode: 'heat', boost: null } },
  },
  { name: 'error', description: 'ERROR before close 4400', message: { type: 15, code: 4400, message: 'malformed frame: PROTO_ERR_TAG' } },
  {
    name: 'hello-update-in-progress',
    description: 'HELLO of a device that takes updates (cap "ota") and holds 49,152 bytes of job u-7 (SPEC.md §12.4)',
    message: { type: 1, proto: 1, fw: '1.4.0', model: 'thermostat-t2', caps: ['commands', 'ota'], update: { job: 'u-7', held: 49_152 } },
  },
  {
    name: 'update-offer-signed',
    description: 'UPDATE_OFFER of a signed 1 MiB image, chunks of up to 16 KiB (SPEC.md §12.2)',
    message: {
      type: 11,
      job: 'u-7',
      model: 'thermostat-t2',
      fw: '1.5.0',
      size: 1_048_576,
      sha256: SHA256,
      chunk: 16_384,
      sig: SIG,
    },
  },
  {
    name: 'update-offer-unsigned',
    description: 'UPDATE_OFFER without a signature: the device checks size and digest only, if its policy allows unsigned images',
    message: { type: 11, job: 'u-8', model: 'esp32-devkit', fw: '2.0.0', size: 300_000, sha256: SHA256, chunk: 4_096 },
  },
  {
    name: 'chunk-request',
    description: 'CHUNK_REQUEST: 16 KiB at offset 49,152 (SPEC.md §12.3)',
    message: { type: 12, job: 'u-7', offset: 49_152, length: 16_384 },
  },
  {
    name: 'chunk',
    description: 'CHUNK: the 8 bytes at offset 1,048,568, the end of the image',
    message: { type: 13, job: 'u-7', offset: 1_048_568, data: new Uint8Array([0, 1, 2, 3, 0xfc, 0xfd, 0xfe, 0xff]) },
  },
  {
    name: 'update-status-downloading',
    description: 'UPDATE_STATUS downloading, 65,536 bytes held; in the sequence space (SPEC.md §12.5)',
    message: { type: 14, seq: 18, job: 'u-7', state: 1, progress: 65_536 },
  },
  {
    name: 'update-status-rebooting',
    description: 'UPDATE_STATUS rebooting into the new image',
    message: { type: 14, seq: 19, job: 'u-7', state: 5, progress: 1_048_576 },
  },
  {
    name: 'update-status-failed',
    description: 'UPDATE_STATUS failed, reason 2 (digest_mismatch), with a detail for operators',
    message: { type: 14, seq: 20, job: 'u-7', state: 7, progress: 1_048_576, reason: 2, detail: 'sha256 3f1c... != offered' },
  },
  {
    name: 'update-status-rejected',
    description: 'UPDATE_STATUS rejected, reason 6 (low_battery)',
    message: { type: 14, seq: 21, job: 'u-8', state: 8, reason: 6 },
  },
  {
    name: 'update-status-rolled-back',
    description: 'UPDATE_STATUS rolled_back, reason 12 (boot_failed): the new image did not confirm itself',
    message: { type: 14, seq: 22, job: 'u-7', state: 11, reason: 12 },
  },
  {
    name: 'update-status-cancelled',
    description: 'UPDATE_STATUS cancelled, after UPDATE_CANCEL',
    message: { type: 14, seq: 23, job: 'u-7', state: 9 },
  },
  { name: 'update-cancel', description: 'UPDATE_CANCEL: the hub withdraws job u-7 (SPEC.md §12.9)', message: { type: 16, job: 'u-7' } },
  {
    name: 'error-with-seq',
    description: 'ERROR naming the sequence number of the message that caused it',
    message: { type: 15, code: 4400, message: 'PROTO_ERR_SENML: pack[0]: unknown label 42', seq: 17 },
  },
];

interface Invalid {
  name: string;
  description: string;
  hex: string;
  error: string;
  accept?: 'uplink' | 'downlink';
  limits?: Record<string, number>;
  /** Filled in below from the decoder: the seq a hub's ERROR names (SPEC.md §8.3). */
  seq?: number;
}

const invalid: Invalid[] = [
  // CBOR layer (SPEC.md §3)
  { name: 'empty', description: 'no bytes at all', hex: '', error: 'PROTO_ERR_TRUNCATED' },
  { name: 'truncated-array', description: 'array of 3 with one element', hex: '8304', error: 'PROTO_ERR_TRUNCATED' },
  { name: 'truncated-text', description: 'text of 5 bytes with 2 present', hex: '820165616263', error: 'PROTO_ERR_TRUNCATED' },
  { name: 'trailing-bytes', description: 'a complete ACK followed by another byte', hex: '82040100', error: 'PROTO_ERR_TRAILING_BYTES' },
  { name: 'indefinite-array', description: 'indefinite-length array', hex: '9f0401ff', error: 'PROTO_ERR_INDEFINITE_LENGTH' },
  {
    name: 'indefinite-text',
    description: 'indefinite-length text in a message',
    hex: '820f7f6161ff',
    error: 'PROTO_ERR_INDEFINITE_LENGTH',
  },
  { name: 'indefinite-map', description: 'indefinite-length map', hex: '820bbf6161f6ff', error: 'PROTO_ERR_INDEFINITE_LENGTH' },
  { name: 'reserved-ai', description: 'additional information 28 is reserved', hex: '82041c', error: 'PROTO_ERR_MALFORMED_CBOR' },
  { name: 'lone-break', description: 'break code outside an indefinite item', hex: '8204ff', error: 'PROTO_ERR_MALFORMED_CBOR' },
  { name: 'tag-date', description: 'tag 1 (epoch date)', hex: '8204c101', error: 'PROTO_ERR_TAG' },
  { name: 'tag-regexp', description: 'tag 35 (regular expression)', hex: '8204d82363612a2b', error: 'PROTO_ERR_TAG' },
  {
    name: 'tag-cbor-x-regexp',
    description: "tag 27 (serialised object: cbor-x's RegExp and Error)",
    hex: '8204d81b8266526567457870626129',
    error: 'PROTO_ERR_TAG',
  },
  { name: 'tag-set', description: 'tag 258 (set)', hex: '8204d901028101', error: 'PROTO_ERR_TAG' },
  { name: 'tag-map', description: 'tag 259 (map with any keys)', hex: '8204d90103a10101', error: 'PROTO_ERR_TAG' },
  { name: 'tag-shareable', description: 'tag 28 (shareable, used to build cycles)', hex: '8204d81c8101', error: 'PROTO_ERR_TAG' },
  { name: 'tag-sharedref', description: 'tag 29 (shared reference, a cycle)', hex: '8204d81d00', error: 'PROTO_ERR_TAG' },
  { name: 'tag-record', description: 'tag 0xdfff (cbor-x record definition)', hex: '8204d9dfff8101', error: 'PROTO_ERR_TAG' },
  { name: 'tag-bignum', description: 'tag 2 (bignum)', hex: '8204c249010000000000000000', error: 'PROTO_ERR_TAG' },
  {
    name: 'self-describe-inside',
    description: 'tag 55799 is only allowed in front of the message',
    hex: '8204d9d9f701',
    error: 'PROTO_ERR_TAG',
  },
  { name: 'undefined', description: 'simple value undefined', hex: '8204f7', error: 'PROTO_ERR_SIMPLE_VALUE' },
  { name: 'simple-16', description: 'unassigned simple value 16', hex: '8204f0', error: 'PROTO_ERR_SIMPLE_VALUE' },
  { name: 'simple-255', description: 'two-byte simple value 255', hex: '8204f8ff', error: 'PROTO_ERR_SIMPLE_VALUE' },
  {
    name: 'integer-2^53',
    description: 'unsigned integer 2^53, beyond the safe range',
    hex: '82041b0020000000000000',
    error: 'PROTO_ERR_INTEGER_RANGE',
  },
  { name: 'negative-2^53', description: 'negative integer -(2^53)-1', hex: '82043b0020000000000000', error: 'PROTO_ERR_INTEGER_RANGE' },
  { name: 'nan', description: 'half-precision NaN', hex: '820af97e00', error: 'PROTO_ERR_NON_FINITE' },
  { name: 'infinity', description: 'single-precision infinity', hex: '820afa7f800000', error: 'PROTO_ERR_NON_FINITE' },
  {
    name: 'depth-17',
    description: 'arrays nested 17 deep (limit 16)',
    hex: `${'81'.repeat(17)}00`,
    error: 'PROTO_ERR_DEPTH',
  },
  { name: 'huge-array-length', description: 'array declaring 2^32-1 entries', hex: '82049b00000000ffffffff', error: 'PROTO_ERR_LENGTH' },
  { name: 'huge-text-length', description: 'text declaring 2^31 bytes', hex: '830f187b7a80000000', error: 'PROTO_ERR_LENGTH' },
  {
    name: 'huge-bytes-length-64',
    description: 'byte string declaring 2^62 bytes',
    hex: '82045b4000000000000000',
    error: 'PROTO_ERR_LENGTH',
  },
  {
    name: 'items-over-limit',
    description: 'array of 5000 entries (limit 4096)',
    hex: `8204991388${'00'.repeat(5000)}`,
    error: 'PROTO_ERR_LENGTH',
  },
  { name: 'invalid-utf8', description: 'text with a lone continuation byte', hex: '830f1910a862c328', error: 'PROTO_ERR_UTF8' },
  { name: 'utf8-surrogate', description: 'text holding an encoded UTF-16 surrogate', hex: '830f1910a863eda080', error: 'PROTO_ERR_UTF8' },
  { name: 'utf8-overlong', description: 'overlong encoding of "/"', hex: '830f1910a862c0af', error: 'PROTO_ERR_UTF8' },
  { name: 'key-proto', description: '__proto__ as a map key', hex: '8201a1695f5f70726f746f5f5fa0', error: 'PROTO_ERR_KEY' },
  { name: 'key-constructor', description: 'constructor as a map key', hex: '8201a16b636f6e7374727563746f72f6', error: 'PROTO_ERR_KEY' },
  { name: 'key-duplicate', description: 'the same key twice', hex: '8201a2626677613162667761', error: 'PROTO_ERR_KEY' },
  { name: 'key-array', description: 'an array as a map key', hex: '8201a18001', error: 'PROTO_ERR_KEY' },
  // Envelope (SPEC.md §4)
  { name: 'not-array', description: 'a map instead of an array', hex: 'a0', error: 'PROTO_ERR_ENVELOPE' },
  { name: 'empty-array', description: 'an empty array', hex: '80', error: 'PROTO_ERR_ENVELOPE' },
  { name: 'type-text', description: 'message type as text', hex: '8263414b4b01', error: 'PROTO_ERR_ENVELOPE' },
  { name: 'type-unknown', description: 'message type 99', hex: '82186301', error: 'PROTO_ERR_UNKNOWN_TYPE' },
  {
    name: 'type-wrong-direction',
    description: 'a device sending WELCOME',
    hex: '8202a0',
    error: 'PROTO_ERR_UNKNOWN_TYPE',
    accept: 'uplink',
  },
  {
    name: 'type-wrong-direction-down',
    description: 'a hub sending TELEMETRY',
    hex: '830301818100',
    error: 'PROTO_ERR_UNKNOWN_TYPE',
    accept: 'downlink',
  },
  // Fields (SPEC.md §5-§7)
  { name: 'hello-proto-2', description: 'unsupported protocol version', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'hello-missing-fw', description: 'HELLO without fw', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'hello-fw-integer', description: 'fw is an integer', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'telemetry-seq-zero', description: 'sequence numbers start at 1', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'telemetry-seq-negative', description: 'negative sequence number', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'telemetry-seq-float', description: 'sequence number as a float', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'telemetry-extra-element', description: 'a fourth element', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'ack-missing-seq', description: 'ACK without its seq', hex: '8104', error: 'PROTO_ERR_FIELD' },
  { name: 'event-name-slash', description: 'event name with "/"', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'event-level-4', description: 'event level out of range', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'event-data-int-keys', description: 'event data with integer map keys', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'command-id-space', description: 'command id with a space', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'cmd-result-status-3', description: 'CMD_RESULT status 3', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'desired-not-map', description: 'desired document as an array', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'reported-seq-missing', description: 'REPORTED without its patch', hex: '820a05', error: 'PROTO_ERR_FIELD' },
  // Firmware updates (SPEC.md §12)
  { name: 'hello-update-held-negative', description: 'HELLO update.held below zero', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'hello-update-not-map', description: 'HELLO update as a text string', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-sha256-short', description: 'UPDATE_OFFER with a 31-byte digest', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-sha256-text', description: 'UPDATE_OFFER with the digest as hex text', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-sig-short', description: 'UPDATE_OFFER with a 63-byte signature', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-size-zero', description: 'UPDATE_OFFER of an empty image', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-chunk-zero', description: 'UPDATE_OFFER with chunk 0', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'offer-chunk-over-limit',
    description: 'UPDATE_OFFER with chunk 16,385 (limit: the 16 KiB string limit)',
    hex: '',
    error: 'PROTO_ERR_FIELD',
  },
  { name: 'offer-job-slash', description: 'UPDATE_OFFER whose job id holds "/"', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'offer-from-device', description: 'a device sending UPDATE_OFFER', hex: '', error: 'PROTO_ERR_UNKNOWN_TYPE', accept: 'uplink' },
  { name: 'chunk-request-length-zero', description: 'CHUNK_REQUEST for 0 bytes', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'chunk-request-length-over-limit', description: 'CHUNK_REQUEST for 16,385 bytes', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'chunk-request-offset-negative', description: 'CHUNK_REQUEST at offset -1', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'chunk-request-missing-length', description: 'CHUNK_REQUEST of three elements', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'chunk-request-from-hub',
    description: 'a hub sending CHUNK_REQUEST',
    hex: '',
    error: 'PROTO_ERR_UNKNOWN_TYPE',
    accept: 'downlink',
  },
  { name: 'chunk-empty', description: 'CHUNK with no bytes', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'chunk-data-text', description: 'CHUNK data as a text string', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'chunk-from-device', description: 'a device sending CHUNK', hex: '', error: 'PROTO_ERR_UNKNOWN_TYPE', accept: 'uplink' },
  { name: 'status-state-offered', description: 'UPDATE_STATUS with the hub-only state 0 (offered)', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'status-state-timed-out',
    description: 'UPDATE_STATUS with the hub-only state 10 (timed_out)',
    hex: '',
    error: 'PROTO_ERR_FIELD',
  },
  { name: 'status-state-12', description: 'UPDATE_STATUS with an unknown state 12', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'status-failed-no-reason', description: 'UPDATE_STATUS failed without a reason', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'status-downloading-no-progress', description: 'UPDATE_STATUS downloading without progress', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'status-detail-too-long',
    description: 'UPDATE_STATUS with a detail of 129 bytes (limit 128)',
    hex: '',
    error: 'PROTO_ERR_FIELD',
  },
  { name: 'status-seq-zero', description: 'UPDATE_STATUS seq 0', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'status-trailing-bytes',
    description: 'UPDATE_STATUS seq 24 followed by another byte: ERROR names seq 24',
    hex: '',
    error: 'PROTO_ERR_TRAILING_BYTES',
  },
  { name: 'status-from-hub', description: 'a hub sending UPDATE_STATUS', hex: '', error: 'PROTO_ERR_UNKNOWN_TYPE', accept: 'downlink' },
  { name: 'cancel-extra-element', description: 'UPDATE_CANCEL with a third element', hex: '', error: 'PROTO_ERR_FIELD' },
  { name: 'cancel-from-device', description: 'a device sending UPDATE_CANCEL', hex: '', error: 'PROTO_ERR_UNKNOWN_TYPE', accept: 'uplink' },
  // SenML (SPEC.md §5.2)
  { name: 'senml-empty-pack', description: 'a pack with no records', hex: '83030180', error: 'PROTO_ERR_SENML' },
  { name: 'senml-record-not-map', description: 'a record that is a number', hex: '8303018101', error: 'PROTO_ERR_SENML' },
  { name: 'senml-unknown-label', description: 'integer label 42', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-must-understand', description: 'text label ending in "_"', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-no-value', description: 'a record with a name and no value', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-two-values', description: 'v and vs in one record', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-bad-name', description: 'a name with a space', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-value-text', description: 'v as a text string', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-version-11', description: 'bver 11', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'senml-time-1e300', description: 'absolute time 1e300 s: finite, but past 2200-01-01', hex: '', error: 'PROTO_ERR_SENML' },
  {
    name: 'senml-time-2200',
    description: 'absolute time 2200-01-01T00:00:00Z, the first instant past the range',
    hex: '',
    error: 'PROTO_ERR_SENML',
  },
  {
    name: 'senml-time-before-1970',
    description: 'base time -1e10 s, relative to now: before 1970-01-01',
    hex: '',
    error: 'PROTO_ERR_SENML',
  },
  { name: 'senml-time-hugely-negative', description: 'time -1e300 s, relative to now', hex: '', error: 'PROTO_ERR_SENML' },
  { name: 'event-time-1e300', description: 'EVENT at absolute time 1e300 s', hex: '', error: 'PROTO_ERR_FIELD' },
  {
    name: 'too-large',
    description: 'a 20-byte message against maxFrame 16',
    hex: '',
    error: 'PROTO_ERR_TOO_LARGE',
    limits: { maxFrame: 16 },
  },
  // A refused message in the sequence space is named by its seq whenever the first
  // bytes show it, whatever broke later (SPEC.md §8.3)
  {
    name: 'telemetry-trailing-bytes',
    description: 'TELEMETRY seq 9 followed by another byte: ERROR names seq 9',
    hex: '',
    error: 'PROTO_ERR_TRAILING_BYTES',
  },
  {
    name: 'telemetry-tag-in-pack',
    description: 'TELEMETRY seq 10 whose record is tagged: ERROR names seq 10',
    hex: '83030a81c1a1000a',
    error: 'PROTO_ERR_TAG',
  },
  {
    name: 'telemetry-too-large',
    description: 'TELEMETRY seq 11 of 26 bytes against maxFrame 16: ERROR names seq 11',
    hex: '',
    error: 'PROTO_ERR_TOO_LARGE',
    limits: { maxFrame: 16 },
  },
];

// Field-level invalid vectors are easier to read as values than as raw hex:
// build them with the raw CBOR encoder, which does no validation.
const raw = (v: Encodable) => hex(encodeCbor(v));
const offer = (o: Record<string, Encodable>) => ({
  job: 'u-7',
  model: 'm',
  fw: '2',
  size: 1024,
  sha256: SHA256,
  chunk: 512,
  ...o,
});
const L = (entries: [number | string, Encodable][]) => new Map(entries);
const built: Record<string, string> = {
  'hello-proto-2': raw([1, { proto: 2, fw: '1', model: 'm' }]),
  'hello-missing-fw': raw([1, { proto: 1, model: 'm' }]),
  'hello-fw-integer': raw([1, { proto: 1, fw: 7, model: 'm' }]),
  'telemetry-seq-zero': raw([
    3,
    0,
    [
      L([
        [0, 't'],
        [2, 1],
      ]),
    ],
  ]),
  'telemetry-seq-negative': raw([
    3,
    -1,
    [
      L([
        [0, 't'],
        [2, 1],
      ]),
    ],
  ]),
  'telemetry-seq-float': raw([
    3,
    1.5,
    [
      L([
        [0, 't'],
        [2, 1],
      ]),
    ],
  ]),
  'telemetry-extra-element': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
      ]),
    ],
    0,
  ]),
  'event-name-slash': raw([5, 1, { name: 'a/b' }]),
  'event-level-4': raw([5, 1, { name: 'a', level: 4 }]),
  'event-data-int-keys': raw([5, 1, { name: 'a', data: L([[1, 2]]) }]),
  'command-id-space': raw([6, 'c 1', 'reboot', null, 0]),
  'cmd-result-status-3': raw([8, 'c1', 3]),
  'desired-not-map': raw([9, 1, [1, 2]]),
  'senml-unknown-label': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        [42, 1],
      ]),
    ],
  ]),
  'senml-must-understand': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        ['foo_', 1],
      ]),
    ],
  ]),
  'senml-no-value': raw([3, 1, [L([[0, 't']])]]),
  'senml-two-values': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        [3, 'x'],
      ]),
    ],
  ]),
  'senml-bad-name': raw([
    3,
    1,
    [
      L([
        [0, 'bad name'],
        [2, 1],
      ]),
    ],
  ]),
  'senml-value-text': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, '1'],
      ]),
    ],
  ]),
  'senml-version-11': raw([
    3,
    1,
    [
      L([
        [-1, 11],
        [0, 't'],
        [2, 1],
      ]),
    ],
  ]),
  'senml-time-1e300': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        [6, 1e300],
      ]),
    ],
  ]),
  'senml-time-2200': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        [6, 7_258_118_400],
      ]),
    ],
  ]),
  'senml-time-before-1970': raw([
    3,
    1,
    [
      L([
        [-3, -1e10],
        [0, 't'],
        [2, 1],
      ]),
    ],
  ]),
  'senml-time-hugely-negative': raw([
    3,
    1,
    [
      L([
        [0, 't'],
        [2, 1],
        [6, -1e300],
      ]),
    ],
  ]),
  'event-time-1e300': raw([5, 1, { name: 'a', t: 1e300 }]),
  'too-large': raw([15, 4400, 'xxxxxxxxxxxxxx']),
  'telemetry-trailing-bytes': `${hex(encode({ type: 3, seq: 9, pack: [{ n: 'x', v: 1 }] }))}00`,
  'hello-update-held-negative': raw([1, { proto: 1, fw: '1', model: 'm', update: { job: 'u-1', held: -1 } }]),
  'hello-update-not-map': raw([1, { proto: 1, fw: '1', model: 'm', update: 'u-1' }]),
  'offer-sha256-short': raw([11, offer({ sha256: SHA256.subarray(0, 31) })]),
  'offer-sha256-text': raw([11, offer({ sha256: hex(SHA256) })]),
  'offer-sig-short': raw([11, offer({ sig: SIG.subarray(0, 63) })]),
  'offer-size-zero': raw([11, offer({ size: 0 })]),
  'offer-chunk-zero': raw([11, offer({ chunk: 0 })]),
  'offer-chunk-over-limit': raw([11, offer({ chunk: 16_385 })]),
  'offer-job-slash': raw([11, offer({ job: 'u/7' })]),
  'offer-from-device': raw([11, offer({})]),
  'chunk-request-length-zero': raw([12, 'u-7', 0, 0]),
  'chunk-request-length-over-limit': raw([12, 'u-7', 0, 16_385]),
  'chunk-request-offset-negative': raw([12, 'u-7', -1, 16]),
  'chunk-request-missing-length': raw([12, 'u-7', 0]),
  'chunk-request-from-hub': raw([12, 'u-7', 0, 16]),
  'chunk-empty': raw([13, 'u-7', 0, new Uint8Array(0)]),
  'chunk-data-text': raw([13, 'u-7', 0, 'abcd']),
  'chunk-from-device': raw([13, 'u-7', 0, new Uint8Array(4)]),
  'status-state-offered': raw([14, 1, { job: 'u-7', state: 0 }]),
  'status-state-timed-out': raw([14, 1, { job: 'u-7', state: 10 }]),
  'status-state-12': raw([14, 1, { job: 'u-7', state: 12 }]),
  'status-failed-no-reason': raw([14, 1, { job: 'u-7', state: 7 }]),
  'status-downloading-no-progress': raw([14, 1, { job: 'u-7', state: 1 }]),
  'status-detail-too-long': raw([14, 1, { job: 'u-7', state: 8, reason: 0, detail: 'x'.repeat(129) }]),
  'status-seq-zero': raw([14, 0, { job: 'u-7', state: 2 }]),
  'status-trailing-bytes': `${hex(encode({ type: 14, seq: 24, job: 'u-7', state: 2 }))}00`,
  'status-from-hub': raw([14, 1, { job: 'u-7', state: 2 }]),
  'cancel-extra-element': raw([16, 'u-7', 0]),
  'cancel-from-device': raw([16, 'u-7']),
  'telemetry-too-large': hex(encode({ type: 3, seq: 11, pack: [{ n: 'temperature', u: 'Cel', v: 21.5 }] })),
};
for (const v of invalid) {
  const b = built[v.name];
  if (b !== undefined) v.hex = b;
  if (v.hex === '' && v.name !== 'empty') throw new Error(`vector ${v.name} has no bytes`);
  const limits = v.limits ? { ...DEFAULT_LIMITS, ...v.limits } : DEFAULT_LIMITS;
  const r = decode(Buffer.from(v.hex, 'hex'), v.accept ? { limits, accept: v.accept } : { limits });
  if (r.ok || r.error.code !== v.error) throw new Error(`invalid vector ${v.name} is not refused with ${v.error}`);
  if (r.error.seq !== undefined) v.seq = r.error.seq;
}

const dir = new URL('../test-vectors/', import.meta.url);
const header = {
  spec: 'firmware-protocol/SPEC.md',
  usage:
    'Decode each hex string with your implementation, with `now` as the time of arrival. Valid vectors must decode to `message` (and, for TELEMETRY and EVENT, resolve to `records`/`time` given `now`), and encoding `message` with preferred serialization must give `hex` again. Invalid vectors must be rejected; `error` is the code this reference implementation reports. SPEC.md §11 explains every field.',
  bytes: 'byte strings are written {"$bytes": "<hex>"}',
};
writeFileSync(
  new URL('valid.json', dir),
  `${JSON.stringify(
    {
      ...header,
      now: NOW,
      vectors: valid.map((v) => {
        const bytes = encode(v.message);
        const decoded = decode(bytes, { now: NOW });
        if (!decoded.ok) throw new Error(`valid vector ${v.name} does not decode: ${decoded.error.message}`);
        const m = decoded.message;
        return {
          name: v.name,
          description: v.description,
          hex: hex(bytes),
          message: toJson(v.message),
          ...(m.type === 3 ? { records: toJson(m.records) } : {}),
          ...(m.type === 5 ? { time: m.time } : {}),
        };
      }),
    },
    null,
    2,
  )}\n`,
);
writeFileSync(new URL('invalid.json', dir), `${JSON.stringify({ ...header, now: NOW, vectors: invalid }, null, 2)}\n`);

// The signature of an update offer (SPEC.md §12.8), from a fixed Ed25519 key: Ed25519
// is deterministic, so an implementation reproduces the signature byte for byte.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'); // RFC 8032 §7.1, test 1
const privateKey = createPrivateKey({
  key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), SEED]),
  format: 'der',
  type: 'pkcs8',
});
const publicKey = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x as string, 'base64url');
const signatureVectors = [
  { model: 'thermostat-t2', fw: '1.5.0', image: 'the bytes of a firmware image' },
  { model: 'esp32-devkit', fw: '2.0.0-rc.1+build.7', image: '\x00\xff' },
].map(({ model, fw, image }) => {
  const bytes = Buffer.from(image);
  const sha256 = createHash('sha256').update(bytes).digest();
  const signed = signedBytes({ model, fw, size: bytes.length, sha256 });
  return {
    model,
    fw,
    size: bytes.length,
    sha256: hex(sha256),
    signedBytes: hex(signed),
    sig: hex(sign(null, signed, privateKey)),
  };
});
writeFileSync(
  new URL('signatures.json', dir),
  `${JSON.stringify(
    {
      spec: 'firmware-protocol/SPEC.md §12.8',
      usage:
        'For each vector, build the signed bytes from model, fw, size and sha256 as SPEC.md §12.8 says: they must equal signedBytes. The Ed25519 signature of signedBytes with the secret key below must equal sig, and sig must verify with publicKey; a device verifies offers this way. The key is the one of RFC 8032 §7.1, test 1: never use it for anything else.',
      secretKey: hex(SEED),
      publicKey: hex(publicKey),
      vectors: signatureVectors,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${valid.length} valid and ${invalid.length} invalid vectors, ${signatureVectors.length} signatures`);
