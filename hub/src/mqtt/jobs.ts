// Fleet jobs on MQTT (docs/jobs.md): `{prefix}/jobs/{id}/status`, retained, the
// job's progress; `{prefix}/devices/{id}/jobs/{job}`, each change of a device's state
// in a job. Published by the node whose scheduler made the change (the leader).

import type { JobNotice } from '../jobs/scheduler.js';
import { deviceInfo } from '../jobs/service.js';
import { type OutMessage, outMessage } from './out-message.js';
import type { Topics } from './topics.js';

export function jobMessage(topics: Topics, n: JobNotice): OutMessage {
  if (n.kind === 'progress')
    return outMessage(`${topics.prefix}/jobs/${n.progress.id}/status`, 'state', () => Buffer.from(JSON.stringify(n.progress)));
  const d = deviceInfo(n.device);
  return outMessage(`${topics.prefix}/devices/${d.device}/jobs/${n.job}`, 'control', () =>
    Buffer.from(JSON.stringify({ job: n.job, ...d })),
  );
}
