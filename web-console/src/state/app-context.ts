// What every screen may use once an operator is signed in: the live channel, the
// fleet, who they are, and the hub's name.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { ConsoleChannel } from '../channel/channel.ts';
import type { FleetStore } from './fleet-store.ts';
import type { LatestStore } from './latest-store.ts';
import { type OperatorInfo, type Role, hasRole as rank } from './roles.ts';
import type { StatsHistory } from './stats-history.ts';

export interface App {
  channel: ConsoleChannel;
  fleet: FleetStore;
  /** The hub's statistics, kept across screens, reconnects and hub restarts. */
  hubStats: StatsHistory;
  /** Every device's newest values (fleet columns, map), fed while a view needs them. */
  latest: LatestStore;
  me: OperatorInfo;
  logout(): void;
}

export const AppContext = createContext<App | undefined>(undefined);

export function useApp(): App {
  const app = useContext(AppContext);
  if (app === undefined) throw new Error('useApp outside a signed-in console');
  return app;
}

/** The signed-in operator has at least `least`; views hide what they cannot use (the hub still checks). */
export function useCan(least: Role): boolean {
  return rank(useApp().me.role, least);
}
