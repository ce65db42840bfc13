// The hub's JSON API from the browser: same-origin fetch with the session cookie, and
// errors as ApiError carrying the hub's code and its message in words (the console's
// rule: every error is shown where the action was taken; nothing fails silently).

import type { ApiErrorBody } from '@halyard/firmware-protocol';

export const API_BASE = '/api/v1';

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    /** HTTP status; 0 when the hub could not be reached at all. */
    readonly status: number,
    /** The hub's code (HUB_ERR_...), or CONSOLE_ERR_NETWORK / CONSOLE_ERR_RESPONSE. */
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

function isErrorBody(v: unknown): v is ApiErrorBody {
  const e = (v as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string';
}

/** Called with every 401, so the app can show the login when a session ends mid-use. */
let onUnauthenticated: (() => void) | undefined;
export function setUnauthenticatedHandler(fn: (() => void) | undefined): void {
  onUnauthenticated = fn;
}

export interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Do not treat a 401 as "the session ended" (the login form itself). */
  quiet401?: boolean;
}

export async function api<T>(method: string, path: string, o: RequestOptions = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${API_BASE}${path}`, {
      method,
      credentials: 'same-origin',
      headers: { accept: 'application/json', ...(o.body === undefined ? {} : { 'content-type': 'application/json' }), ...o.headers },
      ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
      ...(o.signal ? { signal: o.signal } : {}),
    });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'CONSOLE_ERR_NETWORK', 'the hub cannot be reached; check that it is running');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text === '' ? undefined : JSON.parse(text);
  } catch {
    data = undefined;
  }
  if (res.ok) return data as T;
  if (res.status === 401 && !o.quiet401) onUnauthenticated?.();
  if (isErrorBody(data)) throw new ApiError(res.status, data.error.code, data.error.message, data.error.field);
  throw new ApiError(res.status, 'CONSOLE_ERR_RESPONSE', `the hub answered ${res.status} ${res.statusText}`.trim());
}

/** An error as a sentence for the screen. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return err.field && !err.message.startsWith(err.field) ? `${err.field}: ${err.message}` : err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
