// Operators' dashboards (README.md § Web console): each operator reads and saves only
// their own, whatever their role; a save replaces the whole list of panels.

import type { DashboardDoc, SavedDashboard } from '@halyard/firmware-protocol';
import { type Audit, type Requester, viaDetail } from '../audit.js';
import type { Store } from '../store/store.js';

export class DashboardService {
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
    const stored = await this.store.op('putDashboard', { username, doc: { panels: doc.panels }, updatedAt: Date.now() });
    await this.audit(requester.actor, 'dashboard.save', username, viaDetail(requester, { panels: doc.panels.length }));
    return { panels: stored.doc.panels, updatedAt: stored.updatedAt };
  }
}
