// Who is asking, as the services see an HTTP caller (audit entries name them).

import type { Requester } from '../audit.js';
import type { Caller } from './auth.js';

export function httpRequester(caller: Caller | undefined): Requester {
  return { actor: caller?.username ?? '?', via: 'http' };
}
