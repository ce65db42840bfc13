// The alarm use cases (README.md § Alarms and notifications): rules written by
// operators, alarms listed, acknowledged and cleared by hand. Evaluation is the
// evaluator's (evaluator.ts); this service tells it about rule changes and takes the
// operators' steps, each audited.

import { randomBytes } from 'node:crypto';
import type { AlarmCounts, AlarmInfo, AlarmRule, AlarmRuleDoc, AlarmSeverity, AlarmState } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import type { EventBus } from '../bus.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Fleet } from '../fleet.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { AlarmEvaluator } from './evaluator.js';
import { selects } from './matcher.js';

/** Most rules a hub keeps: each is matched against every device on a change. */
export const MAX_ALARM_RULES = 1_000;

export interface AlarmListQuery {
  device?: string;
  rule?: string;
  states?: AlarmState[];
  severities?: AlarmSeverity[];
  since?: number;
  /** An alarm id: the page after it. */
  before?: string;
  limit: number;
}

export class AlarmService {
  /**
   * Rule writes of this hub, one at a time: the cap is counted and then written, and
   * two creations interleaved between the two steps both passed it (1,001 rules).
   */
  private ruleWrites: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly fleet: Fleet,
    private readonly bus: EventBus,
    private readonly evaluator: AlarmEvaluator,
    private readonly audit: Audit,
    private readonly log: Logger,
  ) {
    // Another node changed a rule: reload it from the store (the bus only says which).
    bus.subscribe(
      'alarm.rule',
      ({ id }) => {
        this.store
          .getAlarmRule(id)
          .then((r) => this.evaluator.ruleChanged(id, r))
          .catch((err: unknown) => this.log.error({ err, rule: id }, 'alarms: could not reload a rule'));
      },
      'remote',
    );
  }

  listRules(): Promise<AlarmRule[]> {
    return this.store.listAlarmRules();
  }

  async getRule(id: string): Promise<AlarmRule> {
    const r = await this.store.getAlarmRule(id);
    if (r === undefined) throw new HubError(HubErrorCode.AlarmRuleUnknown, `no alarm rule "${id}"`);
    return r;
  }

  createRule(requester: Requester, doc: AlarmRuleDoc): Promise<AlarmRule> {
    return this.oneAtATime(() => this.createRuleNow(requester, doc));
  }

  private oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.ruleWrites.then(work, work);
    this.ruleWrites = run.catch(() => {});
    return run;
  }

  private async createRuleNow(requester: Requester, doc: AlarmRuleDoc): Promise<AlarmRule> {
    const now = Date.now();
    const rule: AlarmRule = {
      ...doc,
      id: `r-${randomBytes(6).toString('base64url')}`,
      createdAt: now,
      createdBy: requester.actor,
      updatedAt: now,
      updatedBy: requester.actor,
    };
    // The cap is counted in the store's transaction: every hub of a cluster shares it.
    await this.store.op('createAlarmRule', { rule, max: MAX_ALARM_RULES });
    await this.changed(requester, 'alarm.rule.create', rule);
    return rule;
  }

  updateRule(requester: Requester, id: string, doc: AlarmRuleDoc): Promise<AlarmRule> {
    // Read and rewritten in one turn: a deletion in between was undone by the write.
    return this.oneAtATime(() => this.updateRuleNow(requester, id, doc));
  }

  private async updateRuleNow(requester: Requester, id: string, doc: AlarmRuleDoc): Promise<AlarmRule> {
    const old = await this.getRule(id);
    const rule: AlarmRule = {
      ...doc,
      id,
      createdAt: old.createdAt,
      createdBy: old.createdBy,
      updatedAt: Date.now(),
      updatedBy: requester.actor,
    };
    // Only if it still exists: a deletion on another hub since the read is not undone (nor the cap passed).
    await this.store.op('replaceAlarmRule', rule);
    await this.changed(requester, 'alarm.rule.update', rule);
    // A disabled rule, or one that no longer selects a device, leaves no alarm behind.
    if (!rule.enabled) await this.clearRule(requester, id, 'rule disabled');
    else await this.clearUnselected(requester, rule);
    return rule;
  }

  deleteRule(requester: Requester, id: string): Promise<AlarmRule> {
    return this.oneAtATime(() => this.deleteRuleNow(requester, id));
  }

  private async deleteRuleNow(requester: Requester, id: string): Promise<AlarmRule> {
    const rule = await this.store.op('deleteAlarmRule', { id });
    await this.evaluator.ruleChanged(id, undefined);
    this.bus.publish('alarm.rule', { id });
    await this.audit(requester.actor, 'alarm.rule.delete', id, viaDetail(requester, { name: rule.name }));
    await this.clearRule(requester, id, 'rule deleted');
    return rule;
  }

  async list(q: AlarmListQuery): Promise<AlarmInfo[]> {
    let device: number | undefined;
    if (q.device !== undefined) {
      const e = this.fleet.get(q.device);
      if (e === undefined) throw new HubError(HubErrorCode.DeviceUnknown, `no device "${q.device}"`);
      device = e.record.rowid;
    }
    let beforeRowid: number | undefined;
    if (q.before !== undefined) {
      const b = await this.store.getAlarm(q.before);
      if (b === undefined) throw new HubError(HubErrorCode.AlarmUnknown, `no alarm "${q.before}"`);
      beforeRowid = b.rowid;
    }
    const rows = await this.store.listAlarms({
      device,
      rule: q.rule,
      states: q.states,
      severities: q.severities,
      since: q.since,
      beforeRowid,
      limit: q.limit,
    });
    return rows.map((r) => r.info);
  }

  async get(id: string): Promise<AlarmInfo> {
    const a = await this.store.getAlarm(id);
    if (a === undefined) throw new HubError(HubErrorCode.AlarmUnknown, `no alarm "${id}"`);
    return a.info;
  }

  counts(): Promise<AlarmCounts> {
    return this.store.countOpenAlarms();
  }

  acknowledge(requester: Requester, id: string, note: string | null): Promise<AlarmInfo> {
    return this.step(requester, id, 'acknowledged', note);
  }

  clear(requester: Requester, id: string, note: string | null): Promise<AlarmInfo> {
    return this.step(requester, id, 'cleared', note);
  }

  private async step(requester: Requester, id: string, action: 'acknowledged' | 'cleared', note: string | null): Promise<AlarmInfo> {
    const r = await this.store.op('stepAlarm', { id, action, at: Date.now(), by: requester.actor, note, value: null });
    this.evaluator.published(r.info, action);
    await this.audit(
      requester.actor,
      action === 'acknowledged' ? 'alarm.acknowledge' : 'alarm.clear',
      id,
      viaDetail(requester, { device: r.info.device, rule: r.info.rule, ...(note === null ? {} : { note }) }),
    );
    return r.info;
  }

  private async changed(requester: Requester, action: string, rule: AlarmRule): Promise<void> {
    await this.evaluator.ruleChanged(rule.id, rule);
    this.bus.publish('alarm.rule', { id: rule.id });
    await this.audit(
      requester.actor,
      action,
      rule.id,
      viaDetail(requester, { name: rule.name, severity: rule.severity, condition: rule.condition.kind, enabled: rule.enabled }),
    );
  }

  /** Clears the alarms of a rule that is gone or disabled. */
  private async clearRule(requester: Requester, rule: string, note: string): Promise<void> {
    const open = [...this.evaluator.openAlarms()].filter((a) => a.rule === rule);
    for (const a of open) await this.clearQuietly(requester, a, note);
  }

  private async clearUnselected(requester: Requester, rule: AlarmRule): Promise<void> {
    for (const a of [...this.evaluator.openAlarms()]) {
      if (a.rule !== rule.id) continue;
      const e = this.fleet.get(a.device);
      if (e !== undefined && selects(rule.selector, e.record)) continue;
      await this.clearQuietly(requester, a, 'rule no longer selects the device');
    }
  }

  private async clearQuietly(requester: Requester, a: AlarmInfo, note: string): Promise<void> {
    try {
      const r = await this.store.op('stepAlarm', { id: a.id, action: 'cleared', at: Date.now(), by: requester.actor, note, value: null });
      this.evaluator.published(r.info, 'cleared');
    } catch (err) {
      if (!(err instanceof HubError && err.code === HubErrorCode.AlarmState)) throw err;
    }
  }
}
