// A dashboard: the operator's home page, a list of panels of a few kinds. Saved on the
// hub per operator (GET/PUT /api/v1/me/dashboard, README.md § Web console), with a
// copy in this browser (localStorage) that shows at once and that a console from
// before the hub kept dashboards migrates up; shareable as a URL that carries the
// whole layout (?d=<base64url JSON>). Parsing checks every field: a shared URL is
// input from someone else.

import { dashboardKey } from './settings.ts';

export type Panel =
  | { kind: 'chart'; title: string; metric: string; devices: string[]; minutes: number }
  | { kind: 'count'; title: string; by: 'status' | 'tag' }
  | { kind: 'events'; title: string; limit: number }
  | { kind: 'value'; title: string; device: string; metric: string; warn?: number; alarm?: number; below?: boolean };

export interface Dashboard {
  panels: Panel[];
}

export const MAX_PANELS = 24;

const str = (v: unknown, max = 128): string | undefined => (typeof v === 'string' && v.length <= max ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function panelOf(v: unknown): Panel | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const p = v as Record<string, unknown>;
  const title = str(p.title) ?? '';
  switch (p.kind) {
    case 'chart': {
      const metric = str(p.metric);
      const devices = Array.isArray(p.devices) ? p.devices.filter((d): d is string => str(d, 64) !== undefined).slice(0, 20) : [];
      const minutes = Math.min(Math.max(num(p.minutes) ?? 60, 1), 7 * 24 * 60);
      return metric && devices.length > 0 ? { kind: 'chart', title, metric, devices, minutes } : undefined;
    }
    case 'count':
      return { kind: 'count', title, by: p.by === 'tag' ? 'tag' : 'status' };
    case 'events':
      return { kind: 'events', title, limit: Math.min(Math.max(num(p.limit) ?? 10, 1), 100) };
    case 'value': {
      const device = str(p.device, 64);
      const metric = str(p.metric);
      if (!device || !metric) return undefined;
      const warn = num(p.warn);
      const alarm = num(p.alarm);
      return {
        kind: 'value',
        title,
        device,
        metric,
        ...(warn === undefined ? {} : { warn }),
        ...(alarm === undefined ? {} : { alarm }),
        ...(p.below === true ? { below: true } : {}),
      };
    }
    default:
      return undefined;
  }
}

export function parseDashboard(v: unknown): Dashboard | undefined {
  const panels = (v as { panels?: unknown } | null)?.panels;
  if (!Array.isArray(panels)) return undefined;
  return {
    panels: panels
      .map(panelOf)
      .filter((p): p is Panel => p !== undefined)
      .slice(0, MAX_PANELS),
  };
}

/** The layout as a URL parameter value (base64url of its JSON). */
export function encodeDashboard(d: Dashboard): string {
  const bytes = new TextEncoder().encode(JSON.stringify(d));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodeDashboard(s: string): Dashboard | undefined {
  try {
    const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return parseDashboard(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    return undefined;
  }
}

/** A first dashboard for an operator who has none: counts, latest events. */
export const STARTER: Dashboard = {
  panels: [
    { kind: 'count', title: 'Devices by status', by: 'status' },
    { kind: 'count', title: 'Devices by tag', by: 'tag' },
    { kind: 'events', title: 'Latest events', limit: 10 },
  ],
};

export function loadDashboard(username: string): Dashboard | undefined {
  try {
    const raw = globalThis.localStorage?.getItem(dashboardKey(username));
    return raw ? parseDashboard(JSON.parse(raw)) : undefined;
  } catch {
    return undefined;
  }
}

export function saveDashboard(username: string, d: Dashboard): boolean {
  try {
    globalThis.localStorage?.setItem(dashboardKey(username), JSON.stringify(d));
    return true;
  } catch {
    return false;
  }
}

/** A value against its thresholds: the tone and the word that says it without colour. */
export function thresholdState(p: { warn?: number; alarm?: number; below?: boolean }, v: number): 'ok' | 'warn' | 'alarm' {
  const past = (limit: number | undefined) => limit !== undefined && (p.below ? v <= limit : v >= limit);
  return past(p.alarm) ? 'alarm' : past(p.warn) ? 'warn' : 'ok';
}

/**
 * The operator's dashboard from the hub. When the hub has none yet but this browser
 * holds one (saved before dashboards lived on the hub), that one is saved to the hub
 * and returned (`migrated`). undefined when there is none anywhere.
 */
export async function fetchDashboard(
  username: string,
  hub: { get(): Promise<{ panels: unknown[]; updatedAt: number | null }>; save(d: Dashboard): Promise<unknown> },
): Promise<{ dashboard: Dashboard; migrated: boolean } | undefined> {
  const saved = await hub.get();
  if (saved.updatedAt !== null) {
    const dashboard = parseDashboard(saved) ?? { panels: [] };
    saveDashboard(username, dashboard);
    return { dashboard, migrated: false };
  }
  const local = loadDashboard(username);
  if (local === undefined) return undefined;
  await hub.save(local);
  return { dashboard: local, migrated: true };
}
