// The console channel (/v1/console, SPEC.md §10): the web console's live view.
//
// Starting point only: upgrades are refused until the channel lands.

import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { HubContext } from '../context.js';
import { rejectUpgrade } from '../net/reject-upgrade.js';
import type { HubStatsTracker } from '../stats.js';

export class ConsoleGateway {
  constructor(
    readonly ctx: HubContext,
    readonly stats: HubStatsTracker,
  ) {}

  get connections(): number {
    return 0;
  }

  handleUpgrade(_req: IncomingMessage, socket: Duplex, _head: Buffer): void {
    rejectUpgrade(socket, 503, 'HUB_ERR_UNAVAILABLE', 'the console channel is not available yet');
  }

  async close(): Promise<void> {}
}
