// @halyard/firmware-protocol: the device and console wire protocols (SPEC.md).
// Pure: no I/O, runs in Node and in browsers.

export * from './alarm-types.js';
export * from './api-types.js';
export { type BackoffOptions, backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
export {
  type CborDecodeOptions,
  type CborObject,
  type CborResult,
  type CborValue,
  decodeCbor,
  isCborObject,
  LabelMap,
} from './cbor/decode.js';
export { type Encodable, encodeCbor, encodeWith } from './cbor/encode.js';
export { type DecodeOptions, type DecodeResult, decode, encode, messageName } from './codec.js';
export * from './console.js';
export * from './constants.js';
export * from './errors.js';
export * from './job-types.js';
export { applyMergePatch, deepEqual, type JsonObject, type JsonValue } from './merge-patch.js';
export type * from './messages.js';
export * from './names.js';
export * from './plain-value.js';
export { readPack, resolveTime, SENML_VERSION, SenmlLabel, writePack } from './senml.js';
export { formatDuration, parseDuration, parseSize } from './units.js';
export * from './update.js';
export * from './webhook-types.js';
