// Runs the commands a device receives (SPEC.md §6): deduplicates by id and answers
// repeats from memory, refuses what is past its deadline, handles the built-in `ping`
// and `reboot`, and hands everything else to the profile.

import { type Command, CommandStatus, type DataMap, MessageType, type UplinkMessage } from '@halyard/firmware-protocol';
import { isRejection, type Profile } from '../profiles/profile.js';
import { CommandLog, type CommandOutcome } from './command-log.js';

/** What the runner needs from its device. */
export interface CommandHost {
  readonly profile: Profile;
  /** Sends CMD_ACCEPTED / CMD_RESULT now if connected (they are not buffered: §6.4). */
  sendDirect(message: UplinkMessage): void;
  /** Queues a REPORTED in the sequence space. */
  report(patch: DataMap): void;
  /** The hub's clock as the device estimates it (its clock + WELCOME's offset), ms. */
  hubNow(): number;
  /** Restarts the device after its result went out. */
  reboot(): void;
  boot(): number;
  uptimeMs(): number;
  /** Whether the device still runs (no work after stop()). */
  alive(): boolean;
  /** A command reached its outcome. */
  done(command: Command, outcome: CommandOutcome): void;
  /** A command id came again and was answered from memory. */
  duplicate(command: Command): void;
}

/** How long a reboot's result waits before the device goes down, ms: lets the result leave. */
const REBOOT_GRACE_MS = 50;

export class CommandRunner {
  private readonly log = new CommandLog();

  constructor(private readonly host: CommandHost) {}

  handle(command: Command): void {
    const { host } = this;
    const known = this.log.get(command.id);
    if (known !== undefined) {
      // §6.4: a repeat gets CMD_ACCEPTED again while running, else the same CMD_RESULT.
      if (known === null) host.sendDirect({ type: MessageType.CmdAccepted, id: command.id });
      else this.sendResult(command.id, known);
      host.duplicate(command);
      return;
    }
    this.log.start(command.id);
    // §6.1: the deadline is on the hub's clock. 0 is taken as "none" (see README).
    if (command.deadline > 0 && host.hubNow() > command.deadline) {
      this.finish(command, { status: CommandStatus.Rejected, body: { reason: 'deadline' } });
      return;
    }
    switch (command.name) {
      case 'ping':
        this.finish(command, {
          status: CommandStatus.Succeeded,
          body: { pong: true, boot: host.boot(), uptimeS: Math.round(host.uptimeMs() / 1_000) },
        });
        return;
      case 'reboot':
        host.sendDirect({ type: MessageType.CmdAccepted, id: command.id });
        this.finish(command, { status: CommandStatus.Succeeded, body: { rebooting: true, boot: host.boot() } });
        setTimeout(() => {
          if (host.alive()) host.reboot();
        }, REBOOT_GRACE_MS);
        return;
    }
    const decision = host.profile.command(command.name, command.params);
    if (isRejection(decision)) {
      const body: DataMap = { reason: decision.reject };
      if (decision.detail !== undefined) body.detail = decision.detail;
      this.finish(command, { status: CommandStatus.Rejected, body });
      return;
    }
    host.sendDirect({ type: MessageType.CmdAccepted, id: command.id });
    setTimeout(() => {
      if (!host.alive()) return;
      const result = decision.run();
      const outcome: CommandOutcome = { status: result.status };
      if (result.body !== undefined) outcome.body = result.body;
      this.finish(command, outcome);
      if (result.reported !== undefined) host.report(result.reported);
    }, decision.durationMs);
  }

  private finish(command: Command, outcome: CommandOutcome): void {
    this.log.finish(command.id, outcome);
    this.sendResult(command.id, outcome);
    this.host.done(command, outcome);
  }

  private sendResult(id: string, outcome: CommandOutcome): void {
    const message: UplinkMessage = { type: MessageType.CmdResult, id, status: outcome.status };
    if (outcome.body !== undefined) message.body = outcome.body;
    this.host.sendDirect(message);
  }
}
