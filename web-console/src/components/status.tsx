// Status shown the same way everywhere: a coloured dot and a word, never colour alone
// (online green, offline grey, error red, pending amber).

import type { DeviceStatus } from '../lib/fleet-query.ts';

export type Tone = 'good' | 'bad' | 'pending' | 'neutral' | 'off';

const DEVICE: Record<DeviceStatus, { tone: Tone; text: string }> = {
  online: { tone: 'good', text: 'online' },
  offline: { tone: 'off', text: 'offline' },
  never: { tone: 'off', text: 'never seen' },
  revoked: { tone: 'bad', text: 'revoked' },
};

export function Dot({ tone }: { tone: Tone }) {
  return <span class={`dot dot-${tone}`} aria-hidden="true" />;
}

export function Badge({ tone, children }: { tone: Tone; children: string }) {
  return (
    <span class={`badge tone-${tone}`}>
      <Dot tone={tone} />
      {children}
    </span>
  );
}

export function DeviceStatusBadge({ status }: { status: DeviceStatus }) {
  const s = DEVICE[status];
  return <Badge tone={s.tone}>{s.text}</Badge>;
}
