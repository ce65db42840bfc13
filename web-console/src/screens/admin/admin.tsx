// Admin: operators, integrators (MQTT accounts), webhooks and the audit log. Admins only; the hub
// refuses these calls to anyone else regardless.

import { Link } from '../../lib/router.tsx';
import { useTitle } from '../../lib/title.ts';
import { useCan } from '../../state/app-context.ts';
import { AuditLog } from './audit.tsx';
import { Integrators } from './integrators.tsx';
import { Operators } from './operators.tsx';
import { Webhooks } from './webhooks.tsx';

const TABS: [string, string][] = [
  ['operators', 'Operators'],
  ['integrators', 'Integrators'],
  ['webhooks', 'Webhooks'],
  ['audit', 'Audit log'],
];

export function Admin({ tab }: { tab: string }) {
  useTitle('Admin', TABS.find(([key]) => key === tab)?.[1]);
  if (!useCan('admin')) return <p>The admin pages need the admin role.</p>;
  return (
    <>
      <h1>Admin</h1>
      <nav class="tabs" aria-label="Admin sections">
        {TABS.map(([key, label]) => (
          <Link key={key} href={`/admin/${key}`} aria-current={tab === key ? 'page' : undefined}>
            {label}
          </Link>
        ))}
      </nav>
      {tab === 'operators' ? (
        <Operators />
      ) : tab === 'integrators' ? (
        <Integrators />
      ) : tab === 'webhooks' ? (
        <Webhooks />
      ) : tab === 'audit' ? (
        <AuditLog />
      ) : (
        <p>No section "{tab}".</p>
      )}
    </>
  );
}
