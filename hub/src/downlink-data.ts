// What the hub sends a device must pass the device's own decoder (SPEC.md §3.2, §9):
// command params and desired documents are checked where operators and integrators
// hand them in, with the limits the reference decoder applies. Something the device
// refuses would otherwise be sent again on every reconnect, and the device would
// never stay online.

import {
  checkPlainValue,
  DEFAULT_LIMITS,
  type JsonValue,
  PlainValueProblemKind,
  type PlainValueProblemKindString,
} from '@halyard/firmware-protocol';
import { base64Bytes } from './data-json.js';
import { HubError, HubErrorCode } from './errors.js';

/**
 * Why `value`, sent as an element of a downlink message (COMMAND's params, DESIRED's
 * document), would be refused by the device, with the path of the offending field
 * (starting at `field`); undefined when the device accepts it.
 */
export function downlinkDataProblem(
  value: JsonValue,
  field: string,
  options: { mergePatch?: boolean } = {},
): { kind: PlainValueProblemKindString; field: string; message: string } | undefined {
  const problem = checkPlainValue(value, DEFAULT_LIMITS, {
    path: field,
    // The value sits inside the message array, nesting level 1.
    depth: 1,
    bytesOf: base64Bytes,
    ...(options.mergePatch === true ? { mergePatch: true } : {}),
  });
  return problem && { kind: problem.kind, field: problem.path, message: problem.message };
}

/**
 * Throws a HubError naming the offending field when the device would refuse `value`
 * (see downlinkDataProblem): 413 for strings and collections over the limits, 400 for
 * reserved keys, depth and anything else.
 */
export function assertDownlinkData(value: JsonValue, field: string, options: { mergePatch?: boolean } = {}): void {
  const problem = downlinkDataProblem(value, field, options);
  if (problem === undefined) return;
  const code =
    problem.kind === PlainValueProblemKind.String || problem.kind === PlainValueProblemKind.Items
      ? HubErrorCode.TooLarge
      : HubErrorCode.Validation;
  throw new HubError(code, `${problem.message}; a device would refuse it`, { field: problem.field });
}
