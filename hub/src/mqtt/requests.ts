// Requests integrators publish (embedded broker or a bridge), carried out exactly
// as the HTTP API would: `cmd/{name}` creates a command (its `id` is the
// idempotency key), `twin/desired/set` merge-patches desired. Every request gets
// an answer on a status topic; a malformed one gets status "rejected" with a
// HUB_ERR_* code and a reason, never silence. Status topics are shared by every
// integrator, so each answer says who asked (`by`), and a rejection never carries a
// caller-chosen id as its `id`: it would read as the status of another caller's
// command of that id (README, MQTT).

import { isDeviceId, isName, type JsonObject, type JsonValue } from '@halyard/firmware-protocol';
import { z } from 'zod';
import type { HubContext } from '../context.js';
import { HubError, HubErrorCode } from '../errors.js';
import { validationError } from '../http/route.js';
import { durationInput, jsonObject, jsonValue } from '../http/schemas.js';
import { jsonTextDepth, MAX_JSON_DEPTH } from '../json-depth.js';
import { LogBudget, type Logger } from '../log.js';
import type { MqttMetrics } from './metrics.js';
import { type OutMessage, outMessage } from './out-message.js';
import { commandStatus, json, publicActor, rejection } from './payloads.js';
import type { Request, Topics } from './topics.js';

const commandBody = z
  .object({
    params: jsonValue.optional(),
    id: z.string().min(1).max(128).optional(),
    ttl: durationInput.optional(),
    timeout: durationInput.optional(),
  })
  .strict();

export interface RequestDeps {
  ctx: HubContext;
  topics: Topics;
  metrics: MqttMetrics;
  /** Refusals logged per account (requestLogBudget): a client repeating one cannot flood the log. */
  refusals: LogBudget;
  publish: (m: OutMessage) => void;
  /** Home Assistant came (back) online: send discovery again. */
  haBirth: () => void;
}

/** Refused requests logged per account: 20 lines per 10 s, then one line with how many more. */
export function requestLogBudget(log: Logger): LogBudget {
  return new LogBudget({ lines: 20, windowMs: 10_000 }, (actor, unlogged) =>
    log.info(
      { actor, unlogged, windowS: 10 },
      'mqtt requests rejected beyond 20 lines in 10 s: not logged each (halyard_mqtt_requests_total counts them)',
    ),
  );
}

/** The JSON of a payload; an empty payload is an empty object (`mosquitto_pub -n`). */
function parseJson(payload: Buffer): unknown {
  if (payload.length === 0) return {};
  const text = payload.toString('utf8');
  if (jsonTextDepth(text) > MAX_JSON_DEPTH) {
    throw new HubError(HubErrorCode.Validation, `the payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HubError(HubErrorCode.BadRequest, `the payload is not JSON: ${(err as Error).message}`);
  }
}

/** The error as code and message for a status topic; unexpected ones are logged and kept vague. */
function describe(deps: RequestDeps, err: unknown, topic: string): { code: string; message: string; field?: string } {
  if (err instanceof HubError) return { code: err.code, message: err.message, ...(err.field === undefined ? {} : { field: err.field }) };
  deps.ctx.log.error({ err, topic }, 'mqtt request failed');
  return { code: HubErrorCode.Internal, message: 'internal error; see the hub log' };
}

export async function handleRequest(deps: RequestDeps, req: Request, topic: string, payload: Buffer, actor: string): Promise<void> {
  switch (req.kind) {
    case 'command':
      return command(deps, req.device, req.name, topic, payload, actor);
    case 'desired':
      return desired(deps, req.device, topic, payload, actor);
    case 'ha-birth':
      if (payload.toString('utf8').trim() === 'online') deps.haBirth();
      return;
  }
}

async function command(deps: RequestDeps, device: string, name: string, topic: string, payload: Buffer, actor: string): Promise<void> {
  const { ctx, topics, metrics } = deps;
  let id: string | null = null;
  try {
    const raw = parseJson(payload);
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
      throw new HubError(HubErrorCode.Validation, 'the payload must be a JSON object {params, id?, ttl?, timeout?}');
    }
    const rawId = (raw as { id?: unknown }).id;
    // Echoed only as `request`, and only when it could be an id at all.
    if (typeof rawId === 'string' && rawId.length <= 128) id = rawId;
    if (!isDeviceId(device)) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${device}"`);
    if (!isName(name)) throw new HubError(HubErrorCode.Validation, 'a command name: 1-64 of A-Z a-z 0-9 _ . : -', { field: 'name' });
    const parsed = commandBody.safeParse(raw);
    if (!parsed.success) throw validationError(parsed.error, 'payload');
    const body = parsed.data;
    const { command, created } = await ctx.commands.create({ actor, via: 'mqtt' }, device, {
      ...body,
      params: body.params as JsonValue | undefined,
      name,
      key: body.id ?? null,
    });
    metrics.requests.inc({ kind: 'command', outcome: 'accepted' });
    // A created command's statuses follow from the bus, "queued" first; a repeat of an
    // idempotency key is answered with where the first command is now.
    if (!created) deps.publish(outMessage(topics.commandStatus(device, command.name), 'control', json(commandStatus(command))));
  } catch (err) {
    const { code, message, field } = describe(deps, err, topic);
    metrics.requests.inc({ kind: 'command', outcome: 'rejected' });
    if (deps.refusals.take(actor)) ctx.log.info({ actor, topic, code, field, reason: message }, 'mqtt command request rejected');
    deps.publish(outMessage(topics.commandStatus(device, name), 'control', json(rejection(id, actor, code, message, field))));
  }
}

async function desired(deps: RequestDeps, device: string, topic: string, payload: Buffer, actor: string): Promise<void> {
  const { ctx, topics, metrics } = deps;
  try {
    if (!isDeviceId(device)) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${device}"`);
    if (payload.length === 0) throw new HubError(HubErrorCode.Validation, 'the payload must be a JSON merge patch (an object)');
    const parsed = jsonObject.safeParse(parseJson(payload));
    if (!parsed.success) throw new HubError(HubErrorCode.Validation, 'the payload must be a JSON merge patch (an object)');
    const patch = parsed.data as JsonObject;
    const { twin, changed } = await ctx.twins.patchDesired({ actor, via: 'mqtt' }, device, patch, undefined);
    metrics.requests.inc({ kind: 'desired', outcome: 'accepted' });
    deps.publish(
      outMessage(
        topics.desiredSetStatus(device),
        'control',
        json({ status: 'applied', by: publicActor(actor), version: twin.desiredVersion, changed, at: Date.now() }),
      ),
    );
  } catch (err) {
    const { code, message, field } = describe(deps, err, topic);
    metrics.requests.inc({ kind: 'desired', outcome: 'rejected' });
    if (deps.refusals.take(actor)) ctx.log.info({ actor, topic, code, field, reason: message }, 'mqtt desired-set request rejected');
    deps.publish(
      outMessage(
        topics.desiredSetStatus(device),
        'control',
        json({
          status: 'rejected',
          by: publicActor(actor),
          error: message,
          code,
          ...(field === undefined ? {} : { field }),
          at: Date.now(),
        }),
      ),
    );
  }
}
