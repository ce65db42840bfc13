// What the console asks the hub to do (SPEC.md §10.2): commands, cancels and twin
// patches, through the same services and with the same audit entries as the HTTP
// API. Every outcome is a `reply` echoing `req`; hub errors become `ok: false` with
// the API's error code, so the console shows the same words either way.

import { type ConsoleRequest, type ConsoleUpdate, type JsonValue, parseDuration } from '@halyard/firmware-protocol';
import { COMMAND_DEFAULTS } from '../commands/service.js';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';

export type ActionRequest = Extract<ConsoleRequest, { req: number }>;
type Reply = Extract<ConsoleUpdate, { t: 'reply' }>;

function duration(value: string | number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  // Numbers are ms (SPEC.md §10.2); strings are durations like "30s".
  const ms = typeof value === 'number' ? value : parseDuration(value);
  if (ms === undefined) throw new HubError(HubErrorCode.Validation, `${field}: not a duration (try "30s" or "5m")`, { field });
  return ms;
}

async function run(ctx: HubContext, actor: string, r: ActionRequest): Promise<Reply> {
  switch (r.t) {
    case 'command': {
      const { command, created } = await ctx.commands.create(r.device, {
        name: r.name,
        params: (r.params ?? null) as JsonValue,
        ttl: duration(r.ttl, COMMAND_DEFAULTS.ttl, 'ttl'),
        timeout: duration(r.timeout, COMMAND_DEFAULTS.timeout, 'timeout'),
        key: r.key ?? null,
        actor,
        keyField: 'key',
      });
      if (created) ctx.audit(actor, 'command.create', r.device, { command: command.id, name: r.name, via: 'console' });
      return { t: 'reply', req: r.req, ok: true, command };
    }
    case 'cancel': {
      const command = ctx.commands.cancel(r.command, actor);
      ctx.audit(actor, 'command.cancel', command.device, { command: command.id, via: 'console' });
      return { t: 'reply', req: r.req, ok: true, command };
    }
    case 'twin.patch': {
      const { twin, changed } = await ctx.twins.patchDesired(r.device, r.patch, r.ifMatch);
      if (changed) ctx.audit(actor, 'twin.desired.patch', r.device, { patch: r.patch, version: twin.desiredVersion, via: 'console' });
      return { t: 'reply', req: r.req, ok: true, twin };
    }
  }
}

/** Runs one action; never throws. */
export async function handleAction(ctx: HubContext, actor: string, r: ActionRequest): Promise<Reply> {
  try {
    return await run(ctx, actor, r);
  } catch (err) {
    if (err instanceof HubError) {
      const error = { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) };
      return { t: 'reply', req: r.req, ok: false, error };
    }
    ctx.log.error({ err, request: r.t }, 'console request failed');
    return { t: 'reply', req: r.req, ok: false, error: { code: HubErrorCode.Internal, message: 'internal error; see the hub log' } };
  }
}
