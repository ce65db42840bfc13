// Which node serves a device, in cluster mode (docs/architecture.md § Cluster,
// SPEC.md §8.6): the gateway asks before it answers WELCOME and tells when a
// session ends; the cluster layer keeps the leases. A single hub has no ownership
// to keep (undefined).

export interface DeviceOwnership {
  /**
   * Takes the device for `session` on this node. Resolves once a session another
   * node held has been let go (committed, acknowledged, closed with 4409), or that
   * node failed to answer in time; WELCOME may go then, with the sequence number
   * read from the store after it.
   */
  claim(device: string, session: string): Promise<void>;
  /** The session is over: its lease goes, if it still names this session. */
  release(device: string, session: string): void;
}

/** What the cluster layer asks of this node's gateway. */
export interface OwnershipHost {
  /** Another node takes the device over: stop reading, commit and ACK what is held, close with 4409; resolves when done. */
  letGo(device: string, session: string): Promise<void>;
  /** Every session this node serves (past WELCOME), as [device, session] pairs: their leases are renewed. */
  held(): Iterable<[string, string]>;
  /** The lease of this session names another now (another node took it while this one could not be told): end it with 4409. */
  leaseLost(device: string, session: string): void;
}
