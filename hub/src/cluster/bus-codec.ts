// The bytes of bus events between nodes (docs/architecture.md § Cluster): JSON, one
// Redis message per batch of events. What comes out of Redis is input like any
// other: a message is parsed within a size limit and every event checked against its
// topic's shape before any subscriber sees it; anything else is dropped with a
// reason (never thrown at the subscriber, never crashing the hub).

import {
  ALARM_SEVERITIES,
  ALARM_STATES,
  COMMAND_STATES,
  JOB_DEVICE_STATE_NAMES,
  JOB_STATE_NAMES,
  type ResolvedRecord,
  UPDATE_STATE_NAMES,
} from '@halyard/firmware-protocol';
import { z } from 'zod';
import { BUS_TOPICS, type BusEvents, type BusTopic } from '../bus.js';

/** Envelope version: a node that sees another version drops the message (a rolling upgrade mixes them only briefly). */
export const BUS_VERSION = 1;
/** Largest message accepted from Redis, bytes: a batch of a few thousand telemetry frames fits. */
export const MAX_BUS_MESSAGE = 8 * 1024 * 1024;

export interface BusBatch {
  node: string;
  events: { topic: BusTopic; payload: BusEvents[BusTopic] }[];
}

/** One event as it travels: TELEMETRY's byte values as base64, the rest as JSON has them. */
function wireRecord(r: ResolvedRecord): unknown {
  return r.dataValue === undefined ? r : { ...r, dataValue: Buffer.from(r.dataValue).toString('base64') };
}

export function encodeBatch(node: string, events: readonly { topic: BusTopic; payload: unknown }[]): string {
  return JSON.stringify({
    v: BUS_VERSION,
    node,
    events: events.map(({ topic, payload }) =>
      topic === 'telemetry'
        ? { t: topic, p: { ...(payload as BusEvents['telemetry']), records: (payload as BusEvents['telemetry']).records.map(wireRecord) } }
        : { t: topic, p: payload },
    ),
  });
}

const id = z.string().min(1).max(256);
const text = z.string().max(4096);
const num = z.number().finite();
const ms = z.number().finite().nullable();
/** Plain JSON from JSON.parse (no other types can come out of it); subscribers treat it as data. */
const json = z.unknown().transform((v) => v as never);
const jsonObject = z.record(z.string(), z.unknown()).transform((v) => v as never);

const record = z.object({
  name: z.string().max(1024),
  time: num,
  unit: z.string().max(256).optional(),
  value: num.optional(),
  stringValue: z.string().optional(),
  boolValue: z.boolean().optional(),
  dataValue: z
    .string()
    .regex(/^[A-Za-z0-9+/]*={0,2}$/)
    .transform((b) => new Uint8Array(Buffer.from(b, 'base64')))
    .optional(),
  sum: num.optional(),
});

const PRESENCE_REASONS = [
  'connected',
  'closed',
  'timeout',
  'replaced',
  'revoked',
  'error',
  'rate_limited',
  'too_large',
  'malformed',
  'hello_timeout',
  'shutdown',
] as const;

const tally = z.object(
  Object.fromEntries(JOB_DEVICE_STATE_NAMES.map((s) => [s, num])) as Record<(typeof JOB_DEVICE_STATE_NAMES)[number], typeof num>,
);

const ALARM_ACTIONS = ['raised', 'acknowledged', 'cleared', 'flap'] as const;
const ALARM_KINDS = ['metric', 'no_data', 'offline', 'event', 'command', 'twin'] as const;

const SCHEMAS: { [K in BusTopic]: z.ZodType<BusEvents[K], unknown> } = {
  telemetry: z.object({ device: id, records: z.array(record).max(100_000) }) as never,
  presence: z.object({
    presence: z.object({ device: id, online: z.boolean(), reason: z.enum(PRESENCE_REASONS), code: z.number().int().nullable(), at: num }),
    rtt: ms,
    lastSeen: ms,
  }),
  device: z.object({
    device: z.object({
      id,
      name: text.nullable(),
      model: text.nullable(),
      firmware: text.nullable(),
      tags: z.array(text).max(1000),
      createdAt: num,
      revoked: z.boolean(),
      online: z.boolean(),
      lastSeen: ms,
      rtt: ms,
      connectedAt: ms,
      lastSeq: num,
      pendingCommands: num,
      caps: z.array(text).max(1000),
    }),
  }),
  'device.removed': z.object({ id }),
  event: z.object({
    event: z.object({ id: num, device: id, name: text, level: num, data: json.nullable(), time: num, receivedAt: num }),
  }) as never,
  command: z.object({
    command: z.object({
      id,
      device: id,
      name: text,
      params: json,
      state: z.enum(COMMAND_STATES),
      key: text.nullable(),
      createdAt: num,
      createdBy: text,
      ttl: num,
      timeout: num,
      result: json.nullable(),
      error: z.string().nullable(),
      history: z.array(z.object({ state: z.enum(COMMAND_STATES), at: num })).max(100),
    }),
  }) as never,
  twin: z.object({
    twin: z.object({
      device: id,
      desired: jsonObject,
      desiredVersion: num,
      reported: jsonObject,
      reportedVersion: num,
      delta: jsonObject,
      desiredUpdated: z.record(z.string(), num),
      reportedUpdated: z.record(z.string(), num),
    }),
  }) as never,
  update: z.object({
    update: z.object({
      id,
      device: id,
      firmware: id.nullable(),
      job: id.nullable(),
      state: z.enum(UPDATE_STATE_NAMES),
      progress: num,
      size: num.nullable(),
      reason: text.nullable(),
      reasonCode: num.nullable(),
      detail: text.nullable(),
      fromFw: text.nullable(),
      toFw: text,
      attempts: num,
      createdAt: num,
      createdBy: text,
      updatedAt: num,
      finishedAt: ms,
    }),
  }),
  'session.ended': z.object({
    username: z.string().min(1).max(256),
    tokenHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
    keepTokenHash: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  }),
  alarm: z.object({
    alarm: z.object({
      id,
      rule: id,
      ruleName: text,
      device: id,
      severity: z.enum(ALARM_SEVERITIES),
      state: z.enum(ALARM_STATES),
      kind: z.enum(ALARM_KINDS),
      message: text,
      raisedAt: num,
      raisedValue: json.nullable(),
      acknowledgedAt: ms,
      acknowledgedBy: text.nullable(),
      note: text.nullable(),
      clearedAt: ms,
      clearedBy: text.nullable(),
      clearedValue: json.nullable(),
      flaps: num,
      updatedAt: num,
      history: z
        .array(z.object({ action: z.enum(ALARM_ACTIONS), at: num, by: text.nullable(), note: text.nullable(), value: json.nullable() }))
        .max(100),
    }),
  }) as never,
  'alarm.rule': z.object({ id }),
  job: z.object({
    progress: z.object({
      id,
      state: z.enum(JOB_STATE_NAMES),
      stage: num,
      stages: num,
      reason: text.nullable(),
      total: num,
      counts: tally,
      byStage: z.array(tally.extend({ stage: num, percent: num })).max(10),
      updatedAt: num,
      finishedAt: ms,
      deadlineAt: num,
    }),
  }),
};

const envelope = z.object({
  v: z.literal(BUS_VERSION),
  node: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/),
  events: z.array(z.object({ t: z.string(), p: z.unknown() })).max(100_000),
});

export type Decoded = { ok: true; batch: BusBatch; dropped: { topic: string; reason: string }[] } | { ok: false; reason: string };

/** A message from Redis, checked; events that do not fit their topic are left out (and listed). */
export function decodeBatch(raw: string | Buffer): Decoded {
  if (raw.length > MAX_BUS_MESSAGE) return { ok: false, reason: `message of ${raw.length} bytes (at most ${MAX_BUS_MESSAGE})` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `not JSON: ${(err as Error).message.slice(0, 200)}` };
  }
  const env = envelope.safeParse(parsed);
  if (!env.success) return { ok: false, reason: `not a bus message: ${env.error.issues[0]?.message ?? 'invalid'}` };
  const events: BusBatch['events'] = [];
  const dropped: { topic: string; reason: string }[] = [];
  for (const { t, p } of env.data.events) {
    if (!(BUS_TOPICS as readonly string[]).includes(t)) {
      dropped.push({ topic: t.slice(0, 64), reason: 'unknown topic' });
      continue;
    }
    const topic = t as BusTopic;
    const r = SCHEMAS[topic].safeParse(p);
    if (!r.success) {
      const issue = r.error.issues[0];
      dropped.push({ topic, reason: `${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}` });
      continue;
    }
    events.push({ topic, payload: r.data });
  }
  return { ok: true, batch: { node: env.data.node, events }, dropped };
}
