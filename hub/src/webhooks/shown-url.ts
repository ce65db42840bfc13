// A webhook URL as the audit log and logs show it. Receivers often authenticate the
// hub by a token in the query string (`?token=…`), which the admin who set it up may
// read in the webhook API but which must not travel wherever the audit log goes
// (exports, log shipping). Scheme, host, port and path stay (they say where
// deliveries go); a user or password, every query value and a fragment become `***`.

/** Shown in place of anything hidden. */
const HIDDEN = '***';

export function shownUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    // Not a URL (refused at creation anyway): nothing of it is shown.
    return HIDDEN;
  }
  const userinfo = u.username !== '' || u.password !== '' ? `${HIDDEN}@` : '';
  const query = u.search === '' ? '' : `?${[...u.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${HIDDEN}`).join('&')}`;
  const fragment = u.hash === '' ? '' : `#${HIDDEN}`;
  return `${u.protocol}//${userinfo}${u.host}${u.pathname}${query}${fragment}`;
}

/** An audit entry's detail with a webhook URL in it hidden (entries written before URLs were hidden at write time too). */
export function shownAuditDetail(action: string, detail: unknown): unknown {
  if (!action.startsWith('webhook.') || detail === null || typeof detail !== 'object' || Array.isArray(detail)) return detail;
  const d = detail as Record<string, unknown>;
  return typeof d.url === 'string' ? { ...d, url: shownUrl(d.url) } : detail;
}
