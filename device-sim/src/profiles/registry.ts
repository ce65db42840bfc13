// Profile names to factories, and the `mixed` blend.

import { doorSensor } from './door-sensor.js';
import { powerMeter } from './power-meter.js';
import { PROFILE_NAMES, type Profile, type ProfileChoice, type ProfileContext, type ProfileName } from './profile.js';
import { relay } from './relay.js';
import { thermostat } from './thermostat.js';
import { tracker } from './tracker.js';

const FACTORIES: Record<ProfileName, (ctx: ProfileContext) => Profile> = {
  thermostat,
  'power-meter': powerMeter,
  'door-sensor': doorSensor,
  relay,
  tracker,
};

export const PROFILE_CHOICES: readonly ProfileChoice[] = [...PROFILE_NAMES, 'mixed'];

export function isProfileChoice(value: unknown): value is ProfileChoice {
  return typeof value === 'string' && (PROFILE_CHOICES as readonly string[]).includes(value);
}

/**
 * The profile device number `index` runs. `mixed` cycles through every profile by
 * index, so a device keeps its profile from one run to the next (its tokens do too).
 */
export function profileFor(choice: ProfileChoice, index: number): ProfileName {
  return choice === 'mixed' ? (PROFILE_NAMES[index % PROFILE_NAMES.length] as ProfileName) : choice;
}

export function createProfile(name: ProfileName, ctx: ProfileContext): Profile {
  return FACTORIES[name](ctx);
}
