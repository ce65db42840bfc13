// The hono environment: what middleware puts on each request's context.

import type { Caller } from '../auth/sessions.js';

export interface AppEnv {
  Variables: {
    caller: Caller | undefined;
    ip: string;
  };
}
