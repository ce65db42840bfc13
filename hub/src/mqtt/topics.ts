// The hub's MQTT topics, exactly as README.md § MQTT's table names them, under
// --mqtt-prefix; and recognising the requests integrators may publish.

export type Request =
  | { kind: 'command'; device: string; name: string }
  | { kind: 'desired'; device: string }
  /** Home Assistant's birth message: republish discovery. */
  | { kind: 'ha-birth' };

export class Topics {
  private readonly devices: string;

  constructor(
    readonly prefix: string,
    /** Home Assistant's discovery prefix, when discovery is on. */
    readonly haPrefix: string | undefined,
  ) {
    this.devices = `${prefix}/devices/`;
  }

  status(id: string): string {
    return `${this.devices}${id}/status`;
  }
  telemetry(id: string): string {
    return `${this.devices}${id}/telemetry`;
  }
  events(id: string): string {
    return `${this.devices}${id}/events`;
  }
  twinReported(id: string): string {
    return `${this.devices}${id}/twin/reported`;
  }
  twinDesired(id: string): string {
    return `${this.devices}${id}/twin/desired`;
  }
  /** Where integrators publish merge patches. */
  desiredSet(id: string): string {
    return `${this.devices}${id}/twin/desired/set`;
  }
  /** The outcome of each desired-set request (applied or rejected): requests are never met with silence. */
  desiredSetStatus(id: string): string {
    return `${this.devices}${id}/twin/desired/set/status`;
  }
  command(id: string, name: string): string {
    return `${this.devices}${id}/cmd/${name}`;
  }
  commandStatus(id: string, name: string): string {
    return `${this.devices}${id}/cmd/${name}/status`;
  }
  /** The device's alarms not cleared, retained (README.md § Alarms and notifications). */
  alarms(id: string): string {
    return `${this.devices}${id}/alarms`;
  }
  /** Every alarm change, as a stream. */
  alarmStream(): string {
    return `${this.prefix}/alarms`;
  }
  hubStatus(): string {
    return `${this.prefix}/hub/status`;
  }
  haStatus(): string | undefined {
    return this.haPrefix === undefined ? undefined : `${this.haPrefix}/status`;
  }

  /** Filters covering every topic the hub publishes retained (status, twins, Home Assistant configs). */
  retainedFilters(): string[] {
    const filters = [this.status('+'), this.twinReported('+'), this.twinDesired('+'), this.hubStatus()];
    if (this.haPrefix !== undefined) filters.push(`${this.haPrefix}/#`);
    return filters;
  }

  /** The request `topic` carries, or undefined when it is not a topic anyone but the hub may publish to. */
  parseRequest(topic: string): Request | undefined {
    if (this.haPrefix !== undefined && topic === `${this.haPrefix}/status`) return { kind: 'ha-birth' };
    if (!topic.startsWith(this.devices)) return undefined;
    const rest = topic.slice(this.devices.length).split('/');
    const [device, a, b, c, ...more] = rest;
    if (device === undefined || device === '' || more.length > 0) return undefined;
    if (a === 'cmd' && b !== undefined && b !== '' && c === undefined) return { kind: 'command', device, name: b };
    if (a === 'twin' && b === 'desired' && c === 'set') return { kind: 'desired', device };
    return undefined;
  }
}
