// A smart relay (a switched socket): `toggle` and `set` change its state, the reported
// state follows, and the load it switches draws power only while on. Anything else is
// rejected as SPEC.md §6.3 says. Twin: desired `on`.

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import { gaussian, round } from '../engine/random.js';
import {
  badParams,
  type CommandDecision,
  isDataMap,
  type Profile,
  type ProfileContext,
  type ProfileEvent,
  unknownCommand,
} from './profile.js';

/** A relay's contacts need a moment to settle, ms. */
const SWITCH_MS = 20;

/** `set` takes `{on: boolean}`, `{state: "on" | "off"}` or a bare boolean. */
function targetFrom(params: Data): boolean | undefined {
  if (typeof params === 'boolean') return params;
  if (!isDataMap(params)) return undefined;
  if (typeof params.on === 'boolean') return params.on;
  if (params.state === 'on' || params.state === 'off') return params.state === 'on';
  return undefined;
}

export function relay(ctx: ProfileContext): Profile {
  const { random } = ctx;
  let on = false;
  // What is plugged in: a lamp, a heater, a pump...
  const loadW = [40, 60, 450, 1_200, 2_000][Math.floor(random() * 5)] as number;

  const switchTo = (target: boolean) => ({
    durationMs: SWITCH_MS,
    run: () => {
      on = target;
      return { status: 0 as const, body: { on }, reported: { on } };
    },
  });

  return {
    name: 'relay',
    model: 'sim-relay',
    fw: '3.0.1',
    rate: 0.1,
    sample(): SenmlRecord[] {
      return [
        { n: 'on', vb: on },
        { n: 'power', u: 'W', v: on ? round(Math.max(0, loadW * (1 + 0.01 * gaussian(random))), 1) : 0 },
      ];
    },
    takeEvents: (): ProfileEvent[] => [],
    nextEventAt: () => Number.POSITIVE_INFINITY,
    commands: ['toggle', 'set'],
    command(name: string, params: Data): CommandDecision {
      if (name === 'toggle') {
        if (params !== null && !(isDataMap(params) && Object.keys(params).length === 0)) return badParams('toggle takes no params');
        return switchTo(!on);
      }
      if (name === 'set') {
        const target = targetFrom(params);
        if (target === undefined) return badParams('expected {on: boolean}, {state: "on" | "off"} or a boolean');
        return switchTo(target);
      }
      return unknownCommand;
    },
    applyDesired(desired: DataMap): DataMap {
      if (!('on' in desired)) return {};
      if (typeof desired.on === 'boolean') on = desired.on;
      return { on };
    },
    state: () => ({ on, loadW }),
  };
}
