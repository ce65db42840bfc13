// Operators' dashboards (README.md § Web console): each operator reads and saves only
// their own, whatever their role; a save replaces the whole list of panels.

import type { DashboardDoc, SavedDashboard } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import { HubError, HubErrorCode } from '../errors.js';
import { TokenBucket } from '../net/rate-limit.js';
import type { Store } from '../store/store.js';

/** Saves per operator: one a second on average, ten at once. Each is a write and an audit entry. */
export const DASHBOARD_SAVES = { perSecond: 1, burst: 10 } as const;

export class DashboardService {
  /** Per operator (a bounded set: the accounts that exist). */
  private readonly saves = new Map<string, TokenBucket>();

  constructor(
    private readonly store: Pick<Store, 'op' | 'getDashboard'>,
    private readonly audit: Audit,
  ) {}

  /** The operator's dashboard; no panels and updatedAt null before their first save. */
  async get(username: string): Promise<SavedDashboard> {
    const r = await this.store.getDashboard(username);
    return r === undefined ? { panels: [], updatedAt: null } : { panels: r.doc.panels, updatedAt: r.updatedAt };
  }

  async put(requester: Requester, username: string, doc: DashboardDoc): Promise<SavedDashboard> {
    const now = Date.now();
    let bucket = this.saves.get(username);
    if (bucket === undefined) {
      bucket = new TokenBucket(DASHBOARD_SAVES.perSecond, DASHBOARD_SAVES.burst, now);
      this.saves.set(username, bucket);
    }
    const wait = bucket.take(now);
    if (wait > 0) {
      const retryAfter = Math.ceil(wait / 1000);
      throw new HubError(
        HubErrorCode.RateLimited,
        `at most ${DASHBOARD_SAVES.perSecond} dashboard save a second; retry in ${retryAfter} s`,
        { retryAfter },
      );
    }
    const stored = await this.store.op('putDashboard', { username, doc: { panels: doc.panels }, updatedAt: Date.now() });
    await this.audit(requester.actor, 'dashboard.save', username, viaDetail(requester, { panels: doc.panels.length }));
    return { panels: stored.doc.panels, updatedAt: stored.updatedAt };
  }
}
