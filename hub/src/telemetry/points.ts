// Which stored points a SenML record becomes: its value under its name, and a sum
// beside a value as its own series `<name>:sum` (a sum alone is the value). The
// store's compaction and the in-memory tail must agree on this exactly.

import type { ResolvedRecord } from '@halyard/firmware-protocol';
import type { PointValue } from '../store/store.js';

export function recordPoints(rec: ResolvedRecord, each: (name: string, value: PointValue, rec: ResolvedRecord) => void): void {
  const value = rec.value ?? rec.stringValue ?? rec.boolValue ?? rec.dataValue;
  if (value !== undefined) each(rec.name, value, rec);
  if (rec.sum !== undefined) each(value === undefined ? rec.name : `${rec.name}:sum`, rec.sum, rec);
}
