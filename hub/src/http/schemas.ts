// zod schemas shared by routes: ids, names, times and durations as README.md § HTTP API
// fixes them (times: ms since the epoch or ISO 8601; durations: "30s", "5m"...).

import { COMMAND_STATES, DEVICE_ID_PATTERN, type JsonObject, type JsonValue, parseDuration } from '@halyard/firmware-protocol';
import { z } from 'zod';

export const deviceId = z.string().regex(DEVICE_ID_PATTERN, 'a device id: 1-64 of A-Z a-z 0-9 _ . : - starting with a letter or digit');
export const username = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/, 'a username: 1-64 of A-Z a-z 0-9 _ . @ - starting with a letter or digit');
export const password = z.string().min(8, 'at least 8 characters').max(256);
export const role = z.enum(['admin', 'operator', 'viewer']);
export const tags = z.array(z.string().min(1).max(64)).max(32);

/**
 * Latest time and longest duration the API takes, ms: JavaScript's last date
 * (+275760-09-13). Past it a value is no clock's, and PostgreSQL's bigint cannot
 * even hold some (`1e+23`): the query failed with 503 there (README.md § HTTP API).
 */
export const MAX_TIME_MS = 8.64e15;

/** A time: ms since the epoch (a number, or digits; a fraction is dropped) or an ISO 8601 string; at most MAX_TIME_MS. */
export const time = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v : /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms) || ms < 0 || ms > MAX_TIME_MS) {
    ctx.addIssue({ code: 'custom', message: 'a time: ms since the epoch (at most 8.64e15, +275760) or ISO 8601' });
    return z.NEVER;
  }
  return Math.floor(ms);
});

/** A duration string ("500ms", "10s", "5m", "1h", "30d") or a number of ms; at most MAX_TIME_MS. */
export const duration = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const ms = parseDuration(v, true);
  if (ms === undefined || ms > MAX_TIME_MS) {
    ctx.addIssue({ code: 'custom', message: 'a duration like 500ms, 10s, 5m, 1h, 30d (or ms)' });
    return z.NEVER;
  }
  return ms;
});

/**
 * A duration as a request gave it, not yet parsed: the service it goes to parses it
 * (CommandService.create), one rule for every door.
 */
export const durationInput = z.union([z.number(), z.string().max(64)]);

export const limit = (max: number, dflt: number) => z.coerce.number().int().min(1).max(max).default(dflt);

export const commandState = z.enum(COMMAND_STATES);

/** `queued,sent`: command states, comma-separated; an unknown one is a 400 naming the field. */
export const commandStates = z
  .string()
  .max(200)
  .transform((v, ctx) => {
    const states = v.split(',').map((s) => s.trim());
    const bad = states.find((s) => !commandState.safeParse(s).success);
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `"${bad}" is not a command state (${COMMAND_STATES.join(', ')})` });
      return z.NEVER;
    }
    return states as z.output<typeof commandState>[];
  });

export const idParams = z.object({ id: deviceId });

// Command params and desired patches pass through exactly as JSON.parse made them, not
// through a recursive zod schema: that would rebuild every object without its
// "__proto__" key (silently) and recurse as deep as the input goes. What reaches a
// device is checked where it is used, against the device's own limits, naming the
// field (downlink-data.ts; SPEC.md §6.1, §7.1).
export const jsonValue = z.custom<JsonValue>((v) => v !== undefined, 'a JSON value').meta({ description: 'any JSON value' });
export const jsonObject = z
  .custom<JsonObject>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'a JSON object')
  .meta({ description: 'a JSON object', type: 'object' });
