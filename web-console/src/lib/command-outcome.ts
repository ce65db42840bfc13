// Why a command ended badly, or what it waits for, in words for its row: the device's
// rejection code and detail (the hub keeps the reason as `error` and the device's body
// as `result`), the TTL or timeout that ran out, and the deadline of an open command.

import type { CommandInfo } from '@halyard/firmware-protocol';
import { span } from './format.ts';

function field(v: unknown, key: string): string | undefined {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const x = (v as Record<string, unknown>)[key];
  return typeof x === 'string' && x !== '' ? x : undefined;
}

/** "bad_params: expected a setpoint…" for failures; undefined when there is nothing to explain. */
export function outcomeText(c: CommandInfo): string | undefined {
  switch (c.state) {
    case 'failed':
    case 'rejected': {
      const code = field(c.result, 'reason') ?? field(c.result, 'code') ?? field(c.result, 'error') ?? c.error ?? undefined;
      const detail = field(c.result, 'detail') ?? field(c.result, 'message');
      const shownCode = code === c.state ? undefined : code;
      if (shownCode && detail) return `${shownCode}: ${detail}`;
      return shownCode ?? detail ?? (c.state === 'rejected' ? 'the device gave no reason' : 'the device gave no detail');
    }
    case 'timed_out':
      return `no result within its timeout of ${span(c.timeout)} after it was sent`;
    case 'expired':
      return `not delivered within its TTL of ${span(c.ttl)}: the device did not connect in time`;
    default:
      return undefined;
  }
}

/** When an open command gives up: delivery by createdAt + ttl; a result by sent + timeout. */
export function deadline(c: CommandInfo): { what: string; at: number } | undefined {
  if (c.state === 'queued') return { what: 'expires', at: c.createdAt + c.ttl };
  if (c.state === 'sent' || c.state === 'accepted') {
    const sent = c.history.find((h) => h.state === 'sent')?.at;
    if (sent !== undefined) return { what: 'times out', at: sent + c.timeout };
  }
  return undefined;
}

/** The commands a device declared in HELLO caps: the `cmd:<name>` entries (SPEC.md §5.1). */
export function commandsFromCaps(caps: readonly string[] | undefined): string[] {
  return (caps ?? []).filter((c) => c.startsWith('cmd:') && c.length > 4).map((c) => c.slice(4));
}

/**
 * Names to suggest: what the device declared in its caps (`declared`, its own word,
 * in its order), then its history, newest first, then the built-in ones. The built-in
 * ones only when the device declared no command: a device that lists its commands
 * lists them all. A name the device refused as unknown is left out (it said it does
 * not have it), unless its latest HELLO declares it (new firmware).
 */
export function suggestedNames(history: readonly CommandInfo[], builtIn: readonly string[], declared: readonly string[] = []): string[] {
  const unknown = new Set<string>();
  const known = new Set<string>();
  for (const c of history) {
    if (c.state === 'rejected' && (field(c.result, 'reason') ?? c.error) === 'unknown_command') unknown.add(c.name);
    else known.add(c.name);
  }
  const out = new Set<string>(declared);
  for (const c of history) if (known.has(c.name)) out.add(c.name);
  if (declared.length === 0) for (const n of builtIn) out.add(n);
  for (const n of unknown) if (!known.has(n) && !declared.includes(n)) out.delete(n);
  return [...out];
}
