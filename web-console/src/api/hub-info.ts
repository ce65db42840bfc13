// The hub's uptime from /healthz (outside /api/v1, open to all). A degraded hub answers
// 503 with the same body, which still says how long it has been up.

export interface HubHealth {
  status: string;
  problems: string[];
  uptimeSeconds: number;
}

export async function hubHealth(signal?: AbortSignal): Promise<HubHealth> {
  const res = await fetch('/healthz', { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  const body = (await res.json()) as Partial<HubHealth>;
  if (typeof body.uptimeSeconds !== 'number') throw new Error(`the hub's /healthz answered ${res.status} without its uptime`);
  return { status: body.status ?? 'unknown', problems: body.problems ?? [], uptimeSeconds: body.uptimeSeconds };
}
