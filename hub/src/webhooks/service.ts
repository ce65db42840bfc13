// Webhooks (README.md § Alarms and notifications): admins manage them; events the
// hub sees become deliveries, queued in the store so that they survive a restart,
// and sent, signed, with retries, by one sender.
//
// Intake never blocks the caller: a bus handler only appends to a bounded buffer
// per webhook (full: the delivery is dropped and counted); the buffer goes to the
// store in one operation every few milliseconds, where each webhook again holds at
// most --webhook-queue pending deliveries (beyond: dropped and counted).
//
// In a cluster every event is taken on the node where it happened (bus scope
// 'local'), so each is queued once; only the leader sends (it polls the queue each
// second and is woken at once by deliveries queued on its own node), so each queued
// delivery is sent by one node. Two leaders for a moment may both send one
// delivery: delivery is at-least-once anyway, and receivers deduplicate by its id.

import { randomBytes, randomUUID } from 'node:crypto';
import { type AlarmSeverity, WEBHOOK_EVENTS, type WebhookEvent, type WebhookInfo } from '@halyard/firmware-protocol';
import type { Audit, Requester } from '../audit.js';
import type { EventBus } from '../bus.js';
import type { Leadership } from '../cluster/leadership.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DeliveryRecord, DueDelivery, NewDelivery, Store, WebhookRecord } from '../store/store.js';
import { AddressGuard, urlProblem } from './address-guard.js';
import { RETRY_BASE_MS, retryDelay } from './backoff.js';
import {
  alarmMessage,
  body,
  commandMessage,
  type FinishedJob,
  jobMessage,
  presenceMessage,
  updateMessage,
  type WebhookMessage,
  wants,
} from './payloads.js';
import { post } from './post.js';
import { shownUrl } from './shown-url.js';
import { EVENT_HEADER, ID_HEADER, newSecret, SIGNATURE_HEADER, sign } from './signature.js';

/** Most webhooks a hub keeps. */
export const MAX_WEBHOOKS = 100;
/** Deliveries one webhook may have in the intake buffer between two flushes. */
const BUFFER_PER_WEBHOOK = 1_000;
/** Ends (of updates, of jobs) remembered so each is delivered once (`once`). */
const ENDED_REMEMBERED = 10_000;
/** Longest an attempt waits for an answer (ms). */
const ATTEMPT_TIMEOUT_MS = 10_000;
/**
 * Attempts in flight at once: one per webhook (a receiver sees its deliveries in
 * order, mostly), for every webhook. With 8 across webhooks, 8 receivers that never
 * answer held every slot (10 s an attempt, their backlogs due again at once) and
 * the other webhooks' deliveries waited behind them for as long as they had any.
 * An attempt is a socket and a body of a few KiB.
 */
const MAX_IN_FLIGHT = MAX_WEBHOOKS;
/** Finished deliveries stay in the log this long (ms). */
const LOG_KEEP_MS = 7 * 86_400_000;
/** How often every node reads the webhooks again (ms): a change made on another node of a cluster counts here within this. */
export const WEBHOOKS_RELOAD_MS = 2_000;

export interface WebhookInput {
  name: string;
  url: string;
  events: (typeof WEBHOOK_EVENTS)[number][];
  alarmSeverities: AlarmSeverity[] | null;
  alarmRules: string[] | null;
  enabled: boolean;
}

export interface WebhookOptions {
  /** ms a delivery is retried for (--webhook-retry-for). */
  retryFor: number;
  /** Pending deliveries per webhook (--webhook-queue). */
  maxPending: number;
  /** --webhook-allow. */
  allow: readonly string[];
  /** First retry delay (ms); tests shorten it. */
  retryBaseMs?: number;
  /** How often the sender looks for deliveries queued on other nodes (ms). */
  pollMs?: number;
  /** Random numbers for the jitter (tests may fix them). */
  random?: () => number;
}

/** A webhook as the API shows it: everything but the secret. */
export function publicInfo(w: WebhookRecord): WebhookInfo {
  const { secret: _secret, ...info } = w;
  return info;
}

export class WebhookService {
  private readonly guard: AddressGuard;
  /** Webhooks as last read from the store (reloaded on a change here and every poll). */
  private hooks: WebhookRecord[] = [];
  private buffer: NewDelivery[] = [];
  private readonly buffered = new Map<string, number>();
  /** `type:id` of the ends taken lately, oldest first. */
  private readonly ended = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();
  private readonly unsubscribe: (() => void)[] = [];
  private sending = false;
  private wake: (() => void) | undefined;
  private stopped = false;
  private readonly inFlight = new Set<string>();
  private loop: Promise<void> = Promise.resolve();
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly opts: Required<WebhookOptions>;
  /**
   * Webhook writes of this hub, one at a time: a creation counted the cap and then
   * wrote (two interleaved made 101), and an update or rotation read the webhook and
   * wrote it back after a deletion in between (resurrecting it).
   */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
    private readonly leadership: Leadership,
    private readonly metrics: Metrics,
    private readonly audit: Audit,
    private readonly log: Logger,
    options: WebhookOptions,
  ) {
    this.opts = { retryBaseMs: RETRY_BASE_MS, pollMs: 1_000, random: Math.random, ...options };
    this.guard = new AddressGuard(options.allow);
  }

  async start(): Promise<void> {
    this.hooks = await this.store.listWebhooks();
    this.reloadTimer = setInterval(() => {
      this.store.listWebhooks().then(
        (hooks) => {
          this.hooks = hooks;
        },
        (err: unknown) => this.log.warn({ err }, 'could not reload the webhooks (the last list stays in use)'),
      );
    }, WEBHOOKS_RELOAD_MS);
    this.reloadTimer.unref();
    this.unsubscribe.push(
      this.bus.subscribe('alarm', ({ alarm }) => this.take(alarmMessage(alarm)), 'local'),
      this.bus.subscribe('presence', ({ presence }) => this.take(presenceMessage(presence)), 'local'),
      this.bus.subscribe(
        'command',
        ({ command }) => {
          const m = commandMessage(command);
          if (m !== undefined) this.take(m);
        },
        'local',
      ),
      this.bus.subscribe('update', ({ update }) => this.once(update.id, updateMessage(update)), 'local'),
    );
    this.unsubscribe.push(
      this.leadership.onChange((leader) => {
        if (leader && !this.sending) {
          this.sending = true;
          this.loop = this.sendLoop().finally(() => {
            this.sending = false;
          });
        } else this.wake?.();
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.reloadTimer);
    for (const u of this.unsubscribe.splice(0)) u();
    clearTimeout(this.flushTimer);
    await this.flush();
    this.wake?.();
    await this.loop;
  }

  // --- admin use cases -------------------------------------------------------------

  async list(): Promise<WebhookInfo[]> {
    return (await this.store.listWebhooks()).map(publicInfo);
  }

  async get(id: string): Promise<WebhookRecord> {
    const w = await this.store.getWebhook(id);
    if (w === undefined) throw new HubError(HubErrorCode.WebhookUnknown, `no webhook "${id}"`);
    return w;
  }

  /** The new webhook and its secret, which is shown this once. */
  create(requester: Requester, input: WebhookInput): Promise<{ webhook: WebhookInfo; secret: string }> {
    return this.oneAtATime(() => this.createNow(requester, input));
  }

  private async createNow(requester: Requester, input: WebhookInput): Promise<{ webhook: WebhookInfo; secret: string }> {
    this.checkUrl(input.url);
    const now = Date.now();
    const w: WebhookRecord = {
      ...input,
      id: `wh-${randomBytes(6).toString('base64url')}`,
      secret: newSecret(),
      createdAt: now,
      createdBy: requester.actor,
      updatedAt: now,
    };
    // The cap is counted in the store's transaction: every hub of a cluster shares it.
    await this.store.op('createWebhook', { webhook: w, max: MAX_WEBHOOKS });
    await this.changed(requester, 'webhook.create', w);
    return { webhook: publicInfo(w), secret: w.secret };
  }

  update(requester: Requester, id: string, patch: Partial<WebhookInput>): Promise<WebhookInfo> {
    return this.oneAtATime(() => this.updateNow(requester, id, patch));
  }

  private async updateNow(requester: Requester, id: string, patch: Partial<WebhookInput>): Promise<WebhookInfo> {
    const cur = await this.get(id);
    if (patch.url !== undefined) this.checkUrl(patch.url);
    const w: WebhookRecord = { ...cur, ...patch, updatedAt: Date.now() };
    await this.store.op('replaceWebhook', w);
    await this.changed(requester, 'webhook.update', w);
    return publicInfo(w);
  }

  /** A new secret, shown this once; deliveries from now on are signed with it. */
  rotateSecret(requester: Requester, id: string): Promise<{ webhook: WebhookInfo; secret: string }> {
    return this.oneAtATime(() => this.rotateSecretNow(requester, id));
  }

  private async rotateSecretNow(requester: Requester, id: string): Promise<{ webhook: WebhookInfo; secret: string }> {
    const w: WebhookRecord = { ...(await this.get(id)), secret: newSecret(), updatedAt: Date.now() };
    await this.store.op('replaceWebhook', w);
    await this.changed(requester, 'webhook.secret', w);
    return { webhook: publicInfo(w), secret: w.secret };
  }

  remove(requester: Requester, id: string): Promise<void> {
    return this.oneAtATime(() => this.removeNow(requester, id));
  }

  private async removeNow(requester: Requester, id: string): Promise<void> {
    const w = await this.store.op('deleteWebhook', { id });
    await this.changed(requester, 'webhook.delete', w);
  }

  /** Queues a `test` delivery to the webhook (enabled or not); its id. */
  async test(requester: Requester, id: string): Promise<string> {
    const w = await this.get(id);
    const did = randomUUID();
    const now = Date.now();
    const m: WebhookMessage = { type: 'test', data: { webhook: w.id, requestedBy: requester.actor } };
    const r = await this.store.op('enqueueDeliveries', {
      deliveries: [{ id: did, webhook: w.id, event: 'test', body: body(did, m, now), createdAt: now }],
      maxPending: this.opts.maxPending,
    });
    if (r.queued === 0) throw new HubError(HubErrorCode.QueueFull, `the webhook already holds ${this.opts.maxPending} pending deliveries`);
    this.wake?.();
    return did;
  }

  deliveries(q: { webhook: string; state?: DeliveryRecord['state']; beforeRowid?: number; limit: number }): Promise<DeliveryRecord[]> {
    return this.store.listDeliveries(q);
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.writes.then(work, work);
    this.writes = run.catch(() => {});
    return run;
  }

  private checkUrl(url: string): void {
    const why = urlProblem(url, this.guard);
    if (why !== undefined) throw new HubError(HubErrorCode.WebhookUrl, `url: ${why}`, { field: 'url' });
  }

  private async changed(requester: Requester, action: string, w: WebhookRecord): Promise<void> {
    this.hooks = await this.store.listWebhooks();
    // The URL without its query values or userinfo (shown-url.ts): the admin API shows it whole, the audit log does not.
    await this.audit(requester.actor, action, w.id, { name: w.name, url: shownUrl(w.url), events: w.events, enabled: w.enabled });
  }

  // --- intake ----------------------------------------------------------------------

  /** A hub event: a delivery for each webhook that wants it, into the buffer. Never blocks, never throws. */
  /**
   * A fleet job's progress (the job scheduler, which runs on the leader only): a
   * `job.finished` delivery when the job has ended.
   */
  jobProgress(job: FinishedJob): void {
    this.once(job.id, jobMessage(job));
  }

  /**
   * Takes an end (of an update, of a job) once: a finished thing may be announced
   * again (a reload, a late status), but its webhooks hear of it once per hub run.
   */
  private once(key: string, m: WebhookMessage | undefined): void {
    if (m === undefined) return;
    const k = `${m.type}:${key}`;
    if (this.ended.has(k)) return;
    this.ended.add(k);
    // Bounded: the oldest keys go first (a Set iterates in insertion order).
    if (this.ended.size > ENDED_REMEMBERED) this.ended.delete(this.ended.values().next().value as string);
    this.take(m);
  }

  private take(m: WebhookMessage): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const w of this.hooks) {
      if (!wants(w, m)) continue;
      const n = this.buffered.get(w.id) ?? 0;
      if (n >= BUFFER_PER_WEBHOOK) {
        this.metrics.webhookDropped.inc({ reason: 'buffer_full' });
        continue;
      }
      this.buffered.set(w.id, n + 1);
      const id = randomUUID();
      this.buffer.push({ id, webhook: w.id, event: m.type, body: body(id, m, now), createdAt: now });
    }
    if (this.buffer.length > 0 && this.flushTimer === undefined) this.flushTimer = setTimeout(() => void this.flush(), 5);
  }

  /** Moves the buffer into the store (one flush at a time). */
  private flush(): Promise<void> {
    this.flushTimer = undefined;
    this.flushing = this.flushing.then(async () => {
      const batch = this.buffer;
      if (batch.length === 0) return;
      this.buffer = [];
      this.buffered.clear();
      try {
        const r = await this.store.op('enqueueDeliveries', { deliveries: batch, maxPending: this.opts.maxPending });
        for (const [webhook, n] of Object.entries(r.dropped)) {
          this.metrics.webhookDropped.inc({ reason: 'queue_full' }, n);
          this.log.warn({ webhook, dropped: n }, 'webhook deliveries dropped: its queue is full');
        }
        this.wake?.();
      } catch (err) {
        this.metrics.webhookDropped.inc({ reason: 'store_failed' }, batch.length);
        this.log.error({ err, deliveries: batch.length }, 'could not queue webhook deliveries');
      }
    });
    return this.flushing;
  }

  // --- sending (leader only) ---------------------------------------------------------

  private async sendLoop(): Promise<void> {
    let lastPrune = 0;
    while (!this.stopped && this.leadership.isLeader) {
      let next = Date.now() + this.opts.pollMs;
      try {
        const now = Date.now();
        this.hooks = await this.store.listWebhooks();
        if (now - lastPrune > 3_600_000) {
          lastPrune = now;
          const n = await this.store.op('pruneDeliveries', { before: now - LOG_KEEP_MS });
          if (n > 0) this.log.info({ deliveries: n }, 'pruned the webhook delivery log');
        }
        // Each webhook's oldest due delivery: one webhook's backlog never holds up another's.
        for (const w of this.hooks) {
          if (this.inFlight.size >= MAX_IN_FLIGHT) break;
          if (this.inFlight.has(w.id)) continue;
          const [d] = await this.store.dueDeliveries({ webhook: w.id, now, limit: 1 });
          if (d === undefined) continue;
          this.inFlight.add(w.id);
          void this.attempt(d).finally(() => {
            this.inFlight.delete(w.id);
            this.wake?.();
          });
        }
        const pending = await this.store.pendingDeliveries();
        this.metrics.webhookPending.reset();
        for (const [webhook, n] of Object.entries(pending)) this.metrics.webhookPending.set({ webhook }, n);
        const soonest = await this.store.nextDueDelivery();
        if (soonest !== undefined && this.inFlight.size === 0) next = Math.min(next, soonest);
      } catch (err) {
        this.log.error({ err }, 'webhook sender: could not read the queue');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, next - Date.now()));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    while (this.inFlight.size > 0) await new Promise<void>((r) => setTimeout(r, 10));
  }

  private async attempt(d: DueDelivery): Promise<void> {
    const w = this.hooks.find((h) => h.id === d.webhook);
    if (w === undefined) return; // deleted: its deliveries went with it
    const now = Date.now();
    const t = Math.floor(now / 1000);
    const r = await post(w.url, { [SIGNATURE_HEADER]: sign(w.secret, t, d.body), [ID_HEADER]: d.id, [EVENT_HEADER]: d.event }, d.body, {
      guard: this.guard,
      timeoutMs: ATTEMPT_TIMEOUT_MS,
    });
    const at = Date.now();
    const delivered = r.error === undefined;
    let nextAt: number | null = null;
    if (!delivered) {
      const retryAt = at + retryDelay(d.attempts + 1, this.opts.random(), this.opts.retryBaseMs);
      nextAt = retryAt - d.createdAt <= this.opts.retryFor ? retryAt : null;
    }
    this.metrics.webhookDeliveries.inc({ result: delivered ? 'delivered' : nextAt === null ? 'failed' : 'retry' });
    if (!delivered)
      this.log.warn(
        { webhook: w.id, delivery: d.id, attempt: d.attempts + 1, status: r.status, error: r.error, retry: nextAt !== null },
        'webhook delivery failed',
      );
    try {
      await this.store.op('recordAttempt', {
        id: d.id,
        at,
        status: r.status ?? null,
        error: r.error ?? null,
        delivered,
        nextAt,
      });
    } catch (err) {
      // It stays pending and is sent again: at-least-once.
      this.log.error({ err, delivery: d.id }, 'could not record a webhook attempt');
    }
  }
}

export { WEBHOOK_EVENTS, type WebhookEvent };
