// A command's life as the timeline shows it (SPEC.md §6): the states it went through
// with their times, then the ones still ahead while it is open.

import { type CommandInfo, type CommandState, FINAL_COMMAND_STATES } from '@halyard/firmware-protocol';

export type Tone = 'good' | 'bad' | 'pending' | 'neutral';

export interface Step {
  state: CommandState | 'result';
  /** When it was reached; undefined for steps still ahead. */
  at: number | undefined;
  tone: Tone;
}

const PATH: readonly CommandState[] = ['queued', 'sent', 'accepted'];

export function stateTone(s: CommandState): Tone {
  if (s === 'succeeded') return 'good';
  if (s === 'cancelled') return 'neutral';
  return FINAL_COMMAND_STATES.has(s) ? 'bad' : 'pending';
}

export function isFinal(c: Pick<CommandInfo, 'state'>): boolean {
  return FINAL_COMMAND_STATES.has(c.state);
}

export function timeline(c: CommandInfo): Step[] {
  const steps: Step[] = [];
  const seen = new Set<CommandState>();
  const history = [...c.history].sort((a, b) => a.at - b.at);
  for (const h of history) {
    if (seen.has(h.state)) continue;
    seen.add(h.state);
    steps.push({ state: h.state, at: h.at, tone: FINAL_COMMAND_STATES.has(h.state) ? stateTone(h.state) : 'good' });
  }
  // The state may be newer than the history we were given (a live update raced a fetch).
  if (!seen.has(c.state)) steps.push({ state: c.state, at: undefined, tone: stateTone(c.state) });
  if (!isFinal(c)) {
    const current = steps[steps.length - 1];
    if (current !== undefined) current.tone = 'pending';
    const from = PATH.indexOf(c.state) + 1;
    for (const s of PATH.slice(from)) steps.push({ state: s, at: undefined, tone: 'neutral' });
    steps.push({ state: 'result', at: undefined, tone: 'neutral' });
  }
  return steps;
}

/** Newest first; an update replaces the command it describes. */
export function upsertCommand(list: readonly CommandInfo[], c: CommandInfo): CommandInfo[] {
  const i = list.findIndex((x) => x.id === c.id);
  if (i < 0) return [c, ...list].sort((a, b) => b.createdAt - a.createdAt);
  const old = list[i] as CommandInfo;
  // Updates can overtake each other (reply vs stream): never step back to an older state.
  if (old.history.length > c.history.length) return list as CommandInfo[];
  const next = [...list];
  next[i] = c;
  return next;
}
