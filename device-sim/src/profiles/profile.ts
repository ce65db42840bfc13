// What a simulated device *is*: its model, firmware, the physics behind its readings,
// the commands it runs and the twin keys it supports. The engine (engine/device.ts)
// handles the protocol; a profile only decides values and behaviour.

import type { Data, DataMap, SenmlRecord } from '@halyard/firmware-protocol';
import type { Random } from '../engine/random.js';

export const PROFILE_NAMES = ['thermostat', 'power-meter', 'door-sensor', 'relay', 'tracker'] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];
/** Profiles selectable by flag: every single one, or `mixed`, a blend. */
export type ProfileChoice = ProfileName | 'mixed';

/** Something that happened, sent as an EVENT (SPEC.md §5.3). */
export interface ProfileEvent {
  name: string;
  level?: 0 | 1 | 2 | 3;
  data?: Data;
  /** When it happened, ms on the device's (simulated) clock. */
  at: number;
}

/** A command the profile will run: it takes `durationMs`, then `run()` gives the outcome. */
export interface CommandPlan {
  durationMs: number;
  run(): CommandDone;
}

export interface CommandDone {
  /** 0 succeeded, 1 failed (SPEC.md §6.3). */
  status: 0 | 1;
  body?: Data;
  /** State that changed, reported with REPORTED after the result. */
  reported?: DataMap;
}

/** SPEC.md §6.3: why a command was not run. */
export interface CommandRejection {
  reject: 'unknown_command' | 'bad_params';
  detail?: string;
}

export type CommandDecision = CommandPlan | CommandRejection;

export function isRejection(decision: CommandDecision): decision is CommandRejection {
  return 'reject' in decision;
}

export interface Profile {
  readonly name: ProfileName;
  readonly model: string;
  readonly fw: string;
  /** Telemetry messages per second when --rate does not say otherwise. */
  readonly rate: number;
  /** Readings at time `now` (ms); advances the physics from the previous call. */
  sample(now: number): SenmlRecord[];
  /** Events that happened up to `now`, oldest first; each is returned once. */
  takeEvents(now: number): ProfileEvent[];
  /** When the next spontaneous event is due (ms), so the device wakes for it; Infinity if none. */
  nextEventAt(): number;
  /** The commands `command` carries out, announced in HELLO caps as `cmd:<name>` (SPEC.md §5.1). */
  readonly commands: readonly string[];
  /** Decides a command other than the built-in `ping` and `reboot`. */
  command(name: string, params: Data): CommandDecision;
  /** Applies a DESIRED document; returns the resulting state of the keys it supports. */
  applyDesired(desired: DataMap): DataMap;
  /** The whole reported state, sent after each boot's first WELCOME. */
  state(): DataMap;
}

/** What every profile's factory receives. */
export interface ProfileContext {
  random: Random;
  /** The device's clock at creation, ms. */
  now: number;
  /** The device's index in the fleet, for per-device variety that stays stable across runs. */
  index: number;
  /** Thermostats overheat and cool again in cycles this long, ms (--overheat); 0 or absent: never. */
  overheatMs?: number;
}

export const unknownCommand: CommandRejection = { reject: 'unknown_command' };

export function badParams(detail: string): CommandRejection {
  return { reject: 'bad_params', detail };
}

export function isDataMap(value: Data | undefined): value is DataMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}
