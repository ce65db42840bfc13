// What the console asks the hub to do (SPEC.md §10.2): commands, cancels and twin
// patches, through the same services and with the same audit entries as the HTTP
// API. Every outcome is a `reply` echoing `req`; hub errors become `ok: false` with
// the API's error code, so the console shows the same words either way.

import type { ConsoleRequest, ConsoleUpdate, JsonValue } from '@halyard/firmware-protocol';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';

export type ActionRequest = Extract<ConsoleRequest, { req: number }>;
type Reply = Extract<ConsoleUpdate, { t: 'reply' }>;

async function run(ctx: HubContext, actor: string, r: ActionRequest): Promise<Reply> {
  switch (r.t) {
    case 'command': {
      const { command } = await ctx.commands.create({ actor, via: 'console' }, r.device, {
        name: r.name,
        params: r.params as JsonValue | undefined,
        ttl: r.ttl,
        timeout: r.timeout,
        key: r.key,
      });
      return { t: 'reply', req: r.req, ok: true, command };
    }
    case 'cancel': {
      const command = await ctx.commands.cancel({ actor, via: 'console' }, r.command);
      return { t: 'reply', req: r.req, ok: true, command };
    }
    case 'twin.patch': {
      const { twin } = await ctx.twins.patchDesired({ actor, via: 'console' }, r.device, r.patch, r.ifMatch);
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
