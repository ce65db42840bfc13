// Alarm rules and alarms in PostgreSQL (as ../alarms.ts does in SQLite). Two nodes
// may raise the same alarm at once for a moment (leadership changing hands): the
// partial unique index decides, and the loser gets the winner's alarm.

import type { AlarmCounts, AlarmRule, AlarmSeverity } from '@halyard/firmware-protocol';
import { type AlarmStep, applyStep, MAX_CLEARED_ALARMS } from '../../alarms/lifecycle.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { type AlarmQuery, type AlarmRecord, alarmWhere, type NewAlarm, noAlarms } from '../alarms.js';
import { type Queryable, refuseAtCap } from './pool.js';

interface AlarmRow {
  rowid: number;
  device: number;
  doc: AlarmRecord['info'];
}

const toRecord = (r: AlarmRow): AlarmRecord => ({ rowid: r.rowid, deviceRowid: r.device, info: r.doc });

/** `?` placeholders (as alarmWhere writes them) numbered for PostgreSQL. */
function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export async function putAlarmRule(db: Queryable, rule: AlarmRule): Promise<AlarmRule> {
  await db.query(
    `INSERT INTO alarm_rules (id, doc, updated_at) VALUES ($1, $2, $3)
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, updated_at = excluded.updated_at`,
    [rule.id, JSON.stringify(rule), rule.updatedAt],
  );
  return rule;
}

/** Transaction advisory lock that makes rule creations count one after another, on every hub ('hlyd' 'rule'). */
const RULES_LOCK = [0x686c7964, 0x72756c65] as const;

/** A new rule, unless `max` exist already (QueueFull); counted under the lock. */
export async function createAlarmRule(db: Queryable, a: { rule: AlarmRule; max: number }): Promise<AlarmRule> {
  await refuseAtCap(db, RULES_LOCK, 'alarm_rules', a.max, 'alarm rules');
  return putAlarmRule(db, a.rule);
}

export async function replaceAlarmRule(db: Queryable, rule: AlarmRule): Promise<AlarmRule> {
  const r = await db.query('UPDATE alarm_rules SET doc = $1, updated_at = $2 WHERE id = $3', [
    JSON.stringify(rule),
    rule.updatedAt,
    rule.id,
  ]);
  if (r.rowCount === 0) throw new HubError(HubErrorCode.AlarmRuleUnknown, `no alarm rule "${rule.id}"`);
  return rule;
}

export async function deleteAlarmRule(db: Queryable, id: string): Promise<AlarmRule> {
  const r = (await db.query<{ doc: AlarmRule }>('DELETE FROM alarm_rules WHERE id = $1 RETURNING doc', [id])).rows[0];
  if (r === undefined) throw new HubError(HubErrorCode.AlarmRuleUnknown, `no alarm rule "${id}"`);
  return r.doc;
}

export async function getAlarmRule(db: Queryable, id: string): Promise<AlarmRule | undefined> {
  return (await db.query<{ doc: AlarmRule }>('SELECT doc FROM alarm_rules WHERE id = $1', [id])).rows[0]?.doc;
}

export async function listAlarmRules(db: Queryable): Promise<AlarmRule[]> {
  // COLLATE "C": byte order, as SQLite sorts.
  return (await db.query<{ doc: AlarmRule }>('SELECT doc FROM alarm_rules ORDER BY id COLLATE "C"')).rows.map((r) => r.doc);
}

export async function raiseAlarm(db: Queryable, a: NewAlarm): Promise<{ alarm: AlarmRecord; created: boolean }> {
  if ((await db.query('SELECT 1 FROM devices WHERE rowid = $1 FOR SHARE', [a.device])).rowCount === 0)
    throw new HubError(HubErrorCode.DeviceUnknown, 'the device was deleted');
  const info = a.info;
  const inserted = (
    await db.query<{ rowid: number }>(
      `INSERT INTO alarms (id, rule, device, severity, state, raised_at, updated_at, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (rule, device) WHERE state <> 'cleared' DO NOTHING RETURNING rowid`,
      [info.id, info.rule, a.device, info.severity, info.state, info.raisedAt, info.updatedAt, JSON.stringify(info)],
    )
  ).rows[0];
  if (inserted !== undefined) {
    await db.query(
      `DELETE FROM alarms WHERE device = $1 AND rule = $2 AND state = 'cleared' AND rowid <= (
         SELECT rowid FROM alarms WHERE device = $1 AND rule = $2 AND state = 'cleared' ORDER BY rowid DESC LIMIT 1 OFFSET $3)`,
      [a.device, info.rule, MAX_CLEARED_ALARMS],
    );
    return { alarm: { rowid: inserted.rowid, deviceRowid: a.device, info }, created: true };
  }
  const open = (
    await db.query<AlarmRow>("SELECT rowid, device, doc FROM alarms WHERE rule = $1 AND device = $2 AND state <> 'cleared'", [
      info.rule,
      a.device,
    ])
  ).rows[0];
  if (open === undefined) throw new HubError(HubErrorCode.Storage, 'an open alarm disappeared while raising it; try again');
  return { alarm: toRecord(open), created: false };
}

export async function stepAlarm(db: Queryable, step: AlarmStep): Promise<AlarmRecord> {
  const row = (await db.query<AlarmRow>('SELECT rowid, device, doc FROM alarms WHERE id = $1 FOR UPDATE', [step.id])).rows[0];
  if (row === undefined) throw new HubError(HubErrorCode.AlarmUnknown, `no alarm "${step.id}"`);
  const next = applyStep(row.doc, step);
  if (typeof next === 'string') throw new HubError(HubErrorCode.AlarmState, `the alarm is ${next} already`);
  await db.query('UPDATE alarms SET state = $1, updated_at = $2, doc = $3 WHERE rowid = $4', [
    next.state,
    next.updatedAt,
    JSON.stringify(next),
    row.rowid,
  ]);
  return { rowid: row.rowid, deviceRowid: row.device, info: next };
}

export async function getAlarm(db: Queryable, id: string): Promise<AlarmRecord | undefined> {
  const r = (await db.query<AlarmRow>('SELECT rowid, device, doc FROM alarms WHERE id = $1', [id])).rows[0];
  return r && toRecord(r);
}

export async function listAlarms(db: Queryable, q: AlarmQuery): Promise<AlarmRecord[]> {
  const { where, args } = alarmWhere(q);
  const text = numbered(`SELECT rowid, device, doc FROM alarms ${where} ORDER BY rowid DESC LIMIT ?`);
  return (await db.query<AlarmRow>(text, [...args, q.limit])).rows.map(toRecord);
}

export async function openAlarms(db: Queryable): Promise<AlarmRecord[]> {
  return (await db.query<AlarmRow>("SELECT rowid, device, doc FROM alarms WHERE state <> 'cleared' ORDER BY rowid")).rows.map(toRecord);
}

export async function countOpenAlarms(db: Queryable): Promise<AlarmCounts> {
  const counts = noAlarms();
  const rows = (
    await db.query<{ severity: AlarmSeverity; n: number }>(
      "SELECT severity, count(*)::int AS n FROM alarms WHERE state <> 'cleared' GROUP BY severity",
    )
  ).rows;
  for (const r of rows) if (r.severity in counts) counts[r.severity] = r.n;
  return counts;
}
