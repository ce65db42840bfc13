// Alarm rules and alarms in SQLite (README.md § Alarms and notifications). A rule is
// one JSON document; an alarm is its AlarmInfo document plus the columns that find
// it. The partial unique index keeps one alarm not cleared per (rule, device), so
// even two evaluators racing (a cluster's leader changing hands) raise it once.

import type { AlarmCounts, AlarmInfo, AlarmRule, AlarmSeverity, AlarmState } from '@halyard/firmware-protocol';
import { type AlarmStep, applyStep, MAX_CLEARED_ALARMS } from '../alarms/lifecycle.js';
import { HubError, HubErrorCode } from '../errors.js';
import type { Db } from './db.js';
import { refuseAtCap, sql } from './prepared.js';

export interface AlarmRecord {
  rowid: number;
  deviceRowid: number;
  info: AlarmInfo;
}

export interface NewAlarm {
  device: number;
  info: AlarmInfo;
}

export interface AlarmQuery {
  device?: number;
  rule?: string;
  states?: readonly AlarmState[];
  severities?: readonly AlarmSeverity[];
  /** Raised at or after, ms. */
  since?: number;
  /** Only alarms older (by rowid) than this one: the next page. */
  beforeRowid?: number;
  limit: number;
}

interface AlarmRow {
  rowid: number;
  device: number;
  doc: string;
}

const toRecord = (r: AlarmRow): AlarmRecord => ({ rowid: r.rowid, deviceRowid: r.device, info: JSON.parse(r.doc) as AlarmInfo });

export function putAlarmRule(db: Db, rule: AlarmRule): AlarmRule {
  sql(
    db,
    `INSERT INTO alarm_rules (id, doc, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
  ).run(rule.id, JSON.stringify(rule), rule.updatedAt);
  return rule;
}

/**
 * A new rule, unless `max` rules exist already (QueueFull). Counted and written in one
 * transaction of the one writer, so two requests (or two hubs) never both pass the cap.
 */
export function createAlarmRule(db: Db, a: { rule: AlarmRule; max: number }): AlarmRule {
  return db.transaction(() => {
    refuseAtCap(db, 'alarm_rules', a.max, 'alarm rules');
    return putAlarmRule(db, a.rule);
  })();
}

/** Rewrites a rule that exists (AlarmRuleUnknown otherwise: one deleted meanwhile, on any hub, stays deleted). */
export function replaceAlarmRule(db: Db, rule: AlarmRule): AlarmRule {
  const n = sql(db, 'UPDATE alarm_rules SET doc = ?, updated_at = ? WHERE id = ?').run(
    JSON.stringify(rule),
    rule.updatedAt,
    rule.id,
  ).changes;
  if (n === 0) throw new HubError(HubErrorCode.AlarmRuleUnknown, `no alarm rule "${rule.id}"`);
  return rule;
}

export function deleteAlarmRule(db: Db, id: string): AlarmRule {
  const r = getAlarmRule(db, id);
  if (r === undefined) throw new HubError(HubErrorCode.AlarmRuleUnknown, `no alarm rule "${id}"`);
  sql(db, 'DELETE FROM alarm_rules WHERE id = ?').run(id);
  return r;
}

export function getAlarmRule(db: Db, id: string): AlarmRule | undefined {
  const doc = sql(db, 'SELECT doc FROM alarm_rules WHERE id = ?').pluck().get(id) as string | undefined;
  return doc === undefined ? undefined : (JSON.parse(doc) as AlarmRule);
}

/** By id. */
export function listAlarmRules(db: Db): AlarmRule[] {
  return (sql(db, 'SELECT doc FROM alarm_rules ORDER BY id').pluck().all() as string[]).map((d) => JSON.parse(d) as AlarmRule);
}

/** The alarm not cleared of (rule, device) if there is one (`created` false), else the new one. */
export function raiseAlarm(db: Db, a: NewAlarm): { alarm: AlarmRecord; created: boolean } {
  if (sql(db, 'SELECT 1 FROM devices WHERE rowid = ?').get(a.device) === undefined)
    throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
  const open = sql(db, "SELECT rowid, device, doc FROM alarms WHERE rule = ? AND device = ? AND state <> 'cleared'").get(
    a.info.rule,
    a.device,
  ) as AlarmRow | undefined;
  if (open !== undefined) return { alarm: toRecord(open), created: false };
  const info = a.info;
  const r = sql(
    db,
    `INSERT INTO alarms (id, rule, device, severity, state, raised_at, updated_at, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(info.id, info.rule, a.device, info.severity, info.state, info.raisedAt, info.updatedAt, JSON.stringify(info));
  sql(
    db,
    `DELETE FROM alarms WHERE device = ? AND rule = ? AND state = 'cleared' AND rowid <= (
       SELECT rowid FROM alarms WHERE device = ? AND rule = ? AND state = 'cleared' ORDER BY rowid DESC LIMIT 1 OFFSET ?)`,
  ).run(a.device, info.rule, a.device, info.rule, MAX_CLEARED_ALARMS);
  return { alarm: { rowid: Number(r.lastInsertRowid), deviceRowid: a.device, info }, created: true };
}

/** AlarmUnknown; AlarmState for a cleared alarm or a second acknowledgement. */
export function stepAlarm(db: Db, step: AlarmStep): AlarmRecord {
  const row = sql(db, 'SELECT rowid, device, doc FROM alarms WHERE id = ?').get(step.id) as AlarmRow | undefined;
  if (row === undefined) throw new HubError(HubErrorCode.AlarmUnknown, `no alarm "${step.id}"`);
  const next = applyStep(toRecord(row).info, step);
  if (typeof next === 'string') throw new HubError(HubErrorCode.AlarmState, `the alarm is ${next} already`);
  sql(db, 'UPDATE alarms SET state = ?, updated_at = ?, doc = ? WHERE rowid = ?').run(
    next.state,
    next.updatedAt,
    JSON.stringify(next),
    row.rowid,
  );
  return { rowid: row.rowid, deviceRowid: row.device, info: next };
}

export function getAlarm(db: Db, id: string): AlarmRecord | undefined {
  const r = sql(db, 'SELECT rowid, device, doc FROM alarms WHERE id = ?').get(id) as AlarmRow | undefined;
  return r && toRecord(r);
}

/** The WHERE clause of a query with its arguments, the same on both engines (`?` placeholders). */
export function alarmWhere(q: AlarmQuery): { where: string; args: (string | number)[] } {
  const where: string[] = [];
  const args: (string | number)[] = [];
  const list = (column: string, values: readonly string[]) => {
    where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    args.push(...values);
  };
  if (q.device !== undefined) {
    where.push('device = ?');
    args.push(q.device);
  }
  if (q.rule !== undefined) {
    where.push('rule = ?');
    args.push(q.rule);
  }
  if (q.states !== undefined && q.states.length > 0) list('state', q.states);
  if (q.severities !== undefined && q.severities.length > 0) list('severity', q.severities);
  if (q.since !== undefined) {
    where.push('raised_at >= ?');
    args.push(q.since);
  }
  if (q.beforeRowid !== undefined) {
    where.push('rowid < ?');
    args.push(q.beforeRowid);
  }
  return { where: where.length ? `WHERE ${where.join(' AND ')}` : '', args };
}

/** Newest first. */
export function listAlarms(db: Db, q: AlarmQuery): AlarmRecord[] {
  const { where, args } = alarmWhere(q);
  return (sql(db, `SELECT rowid, device, doc FROM alarms ${where} ORDER BY rowid DESC LIMIT ?`).all(...args, q.limit) as AlarmRow[]).map(
    toRecord,
  );
}

/** Every alarm not cleared, oldest first (what a restarted evaluator resumes). */
export function openAlarms(db: Db): AlarmRecord[] {
  return (sql(db, "SELECT rowid, device, doc FROM alarms WHERE state <> 'cleared' ORDER BY rowid").all() as AlarmRow[]).map(toRecord);
}

export const noAlarms = (): AlarmCounts => ({ critical: 0, major: 0, minor: 0, warning: 0 });

export function countOpenAlarms(db: Db): AlarmCounts {
  const counts = noAlarms();
  const rows = sql(db, "SELECT severity, count(*) AS n FROM alarms WHERE state <> 'cleared' GROUP BY severity").all() as {
    severity: AlarmSeverity;
    n: number;
  }[];
  for (const r of rows) if (r.severity in counts) counts[r.severity] = r.n;
  return counts;
}
