// Devices counted by status (the fleet's filters, each a link) or by tag, from the live fleet.

import { Dot } from '../../components/status.tsx';
import { countByStatus } from '../../lib/fleet-query.ts';
import { useSubscribe } from '../../lib/hooks.ts';
import { Link } from '../../lib/router.tsx';
import { useApp } from '../../state/app-context.ts';

const STATUS_ROWS = [
  ['online', 'online', 'good'],
  ['offline', 'offline', 'off'],
  ['never', 'never seen', 'off'],
  ['revoked', 'revoked', 'bad'],
  ['pending', 'commands pending', 'pending'],
] as const;

/** Tags shown at most; the rest are summed. */
const TOP_TAGS = 8;

export function CountPanel({ by }: { by: 'status' | 'tag' }) {
  const { fleet } = useApp();
  useSubscribe(fleet.subscribe);
  if (by === 'status') {
    const c = countByStatus(fleet.values());
    return (
      <table class="list compact">
        <tbody>
          {STATUS_ROWS.map(([key, word, tone]) => (
            <tr key={key} data-count={key}>
              <td>
                <Dot tone={tone} /> <Link href={`/fleet?status=${key}`}>{word}</Link>
              </td>
              <td class="num">{c[key]}</td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  }
  const tags = new Map<string, number>();
  let untagged = 0;
  for (const d of fleet.values()) {
    if (d.tags.length === 0) untagged++;
    for (const t of d.tags) tags.set(t, (tags.get(t) ?? 0) + 1);
  }
  const rows = [...tags.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return (
    <table class="list compact">
      <tbody>
        {rows.slice(0, TOP_TAGS).map(([t, n]) => (
          <tr key={t} data-count={`tag:${t}`}>
            <td>
              <Link href={`/fleet?q=${encodeURIComponent(`tag:${t}`)}`}>{t}</Link>
            </td>
            <td class="num">{n}</td>
          </tr>
        ))}
        {rows.length > TOP_TAGS ? (
          <tr>
            <td class="muted">{rows.length - TOP_TAGS} more tags</td>
            <td class="num">{rows.slice(TOP_TAGS).reduce((a, [, n]) => a + n, 0)}</td>
          </tr>
        ) : null}
        <tr>
          <td class="muted">no tags</td>
          <td class="num">{untagged}</td>
        </tr>
      </tbody>
    </table>
  );
}
