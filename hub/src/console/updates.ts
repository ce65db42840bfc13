// Building and encoding hub -> console messages (SPEC.md §10.3).

import { type ConsoleUpdate, type Encodable, encodeCbor, type ResolvedRecord, type TelemetryPoint } from '@halyard/firmware-protocol';

/** One console message as CBOR (a map with text keys; undefined fields are left out). */
export function encodeUpdate(update: ConsoleUpdate): Uint8Array {
  // The API types are interfaces (no index signature), which TypeScript will not
  // match against Encodable's map type although every field is encodable data.
  return encodeCbor(update as unknown as Encodable);
}

/**
 * Stored SenML records as the console's points. Byte-string values have no console
 * form (charts and latest values show numbers, text and booleans) and are skipped.
 */
export function toPoints(records: readonly ResolvedRecord[]): TelemetryPoint[] {
  const points: TelemetryPoint[] = [];
  for (const r of records) {
    const p: TelemetryPoint = { name: r.name, time: r.time };
    if (r.value !== undefined) p.value = r.value;
    else if (r.stringValue !== undefined) p.stringValue = r.stringValue;
    else if (r.boolValue !== undefined) p.boolValue = r.boolValue;
    else if (r.sum !== undefined) p.value = r.sum;
    else continue;
    if (r.unit !== undefined) p.unit = r.unit;
    points.push(p);
  }
  return points;
}
