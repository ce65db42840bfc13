// The layers as rules (docs/architecture.md § Layers), checked by `npm run lint`
// through scripts/depcruise/run.mjs. Type-only imports count for the layers (a type
// from another package is a dependency on it) but not for cycles, which are about
// module evaluation order at run time.

/** Workspace folders, as paths relative to the repository root. */
const PROTOCOL = '^firmware-protocol/';
const HUB = '^hub/';
const SIM = '^device-sim/';
const CONSOLE = '^web-console/';
const BENCH = '^bench/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'protocol-stands-alone',
      comment: 'firmware-protocol is the bottom layer: it imports no other workspace package.',
      severity: 'error',
      from: { path: PROTOCOL },
      to: { path: [HUB, SIM, CONSOLE, BENCH] },
    },
    {
      name: 'clients-not-hub',
      comment: 'device-sim and web-console talk to the hub over the wire (SPEC.md), never through its code.',
      severity: 'error',
      from: { path: [SIM, CONSOLE] },
      to: { path: [HUB, BENCH] },
    },
    {
      name: 'hub-not-clients',
      comment: 'The hub knows its clients by the protocol alone: no device-sim, no console code (it serves the built console as files).',
      severity: 'error',
      from: { path: HUB },
      to: { path: [SIM, CONSOLE, BENCH] },
    },
    {
      name: 'bench-on-top',
      comment: 'bench drives the hub with device-sim and depends on both; nothing depends on bench.',
      severity: 'error',
      from: { pathNot: BENCH },
      to: { path: BENCH },
    },
    {
      name: 'cluster-behind-interfaces',
      comment:
        'Cluster mode is wired in one place: at run time only hub.ts (and the MQTT broker, for its Redis emitter) reaches hub/src/cluster/; everything else sees the EventBus and ownership interfaces (types may be imported anywhere).',
      severity: 'error',
      from: { path: '^hub/src/', pathNot: ['^hub/src/cluster/', '^hub/src/hub[.]ts$', '^hub/src/mqtt/', '[.]test[.]ts$'] },
      to: { path: '^hub/src/cluster/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'redis-in-cluster',
      comment:
        'Redis is a hint channel between nodes (docs/architecture.md § Cluster): only the cluster layer and the MQTT broker (its Redis emitter and persistence) speak to it.',
      severity: 'error',
      from: { path: '^hub/src/', pathNot: ['^hub/src/cluster/', '^hub/src/mqtt/'] },
      to: { path: 'node_modules/(ioredis|mqemitter-redis|aedes-persistence-redis)/' },
    },
    {
      name: 'no-runtime-cycles',
      comment: 'A cycle of runtime imports makes evaluation order matter (a binding read before its module ran).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'resolvable',
      comment: 'An import the checker cannot resolve is an edge it cannot check.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // See type-only imports (tsc parses before compiling them away).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // node_modules is not excluded: redis-in-cluster names npm packages (doNotFollow keeps them leaves).
    exclude: { path: '(^|/)(dist|test-output|bench-results)/' },
    enhancedResolveOptions: {
      // Workspace packages resolve to their sources, as tsx runs them (--conditions=source).
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'require', 'node', 'default'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
