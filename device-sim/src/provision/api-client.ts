// A minimal JSON client for the hub's HTTP API (README.md § HTTP API, /api/v1): just what
// provisioning needs. node:http(s) rather than fetch, so that --ca and --insecure
// apply to the API exactly as they do to the device channel.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SimError, SimErrorCode } from '../errors.js';

export interface ApiClientOptions {
  /** http(s)://host:port/api/v1 */
  base: string;
  ca?: string | Buffer;
  insecure?: boolean;
  /** Operator token sent as Authorization: Bearer. */
  token?: string;
  /** Per request, ms. */
  timeoutMs?: number;
}

export interface ApiResponse {
  status: number;
  body: unknown;
}

/** The API base for a device-channel URL: ws -> http, wss -> https, same host and port. */
export function apiBaseFor(hub: string): string {
  const url = new URL(hub);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = '/api/v1';
  url.search = '';
  return url.toString().replace(/\/$/, '');
}

function errorMessage(body: unknown): string {
  const e = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return e && typeof e.message === 'string' ? `${String(e.code)}: ${e.message}` : JSON.stringify(body);
}

export class ApiClient {
  token: string | undefined;

  constructor(private readonly opts: ApiClientOptions) {
    this.token = opts.token;
  }

  request(method: string, path: string, body?: unknown): Promise<ApiResponse> {
    const url = new URL(this.opts.base + path);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload !== undefined) headers['content-type'] = 'application/json';
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(
        url,
        {
          method,
          headers,
          timeout: this.opts.timeoutMs ?? 15_000,
          ...(url.protocol === 'https:' ? { ca: this.opts.ca, rejectUnauthorized: this.opts.insecure !== true } : {}),
        },
        (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text.length > 0 ? JSON.parse(text) : null;
            } catch {
              // Not JSON (a proxy's error page): keep the text for the error message.
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new SimError(SimErrorCode.Api, `${method} ${url.pathname}: no answer in time`)));
      req.on('error', (err) =>
        reject(err instanceof SimError ? err : new SimError(SimErrorCode.Api, `${method} ${url.pathname}: ${err.message}`, { cause: err })),
      );
      req.end(payload);
    });
  }

  /** POST /login; keeps the token for later requests. */
  async login(username: string, password: string): Promise<string> {
    const res = await this.request('POST', '/login', { username, password });
    if (res.status === 401 || res.status === 403) throw new SimError(SimErrorCode.Login, `login as "${username}" refused (${res.status})`);
    const token = (res.body as { token?: unknown } | null)?.token;
    if (res.status !== 200 || typeof token !== 'string')
      throw new SimError(SimErrorCode.Api, `POST /login: ${res.status} ${errorMessage(res.body)}`);
    this.token = token;
    return token;
  }

  /** POST /devices; the token when created, undefined when the id exists (409). */
  async createDevice(device: { id: string; name?: string; model?: string; tags?: string[] }): Promise<string | undefined> {
    const res = await this.request('POST', '/devices', device);
    if (res.status === 409) return undefined;
    const token = (res.body as { token?: unknown } | null)?.token;
    if (res.status !== 201 || typeof token !== 'string') {
      throw new SimError(SimErrorCode.Api, `POST /devices (${device.id}): ${res.status} ${errorMessage(res.body)}`);
    }
    return token;
  }

  /** POST /devices/:id/token: a new token (the old one stops working). undefined for 404. */
  async rotateToken(id: string): Promise<string | undefined> {
    // An empty JSON body: the hub reads this route's (optional) options as JSON.
    const res = await this.request('POST', `/devices/${encodeURIComponent(id)}/token`, {});
    if (res.status === 404) return undefined;
    const token = (res.body as { token?: unknown } | null)?.token;
    if (res.status !== 200 && res.status !== 201)
      throw new SimError(SimErrorCode.Api, `POST /devices/${id}/token: ${res.status} ${errorMessage(res.body)}`);
    if (typeof token !== 'string') throw new SimError(SimErrorCode.Api, `POST /devices/${id}/token: no token in the answer`);
    return token;
  }
}
