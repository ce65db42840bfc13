// Identifier rules (SPEC.md §3.5). Ids and names travel into URLs, MQTT topics and
// log lines, so they are restricted to characters that are safe in all three.

/** Device ids: 1-64 characters, a letter or digit first, then letters, digits, `_ . : -`. */
export const DEVICE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Command and event names: 1-64 characters, same alphabet as device ids. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/** Command ids: 1-128 characters of the same alphabet. */
export const COMMAND_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** SenML names after base-name resolution (RFC 8428 §4.5.1), at most 128 characters here. */
export const SENML_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:./_-]{0,127}$/;

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID_PATTERN.test(value);
}

export function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

export function isCommandId(value: unknown): value is string {
  return typeof value === 'string' && COMMAND_ID_PATTERN.test(value);
}
