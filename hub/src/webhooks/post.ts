// One delivery attempt: a POST over node:http(s) whose name lookup goes through the
// address guard (address-guard.ts), so the address checked is the address
// connected to. No redirects are followed, the answer's body is read and dropped
// (at most a little of it), and an attempt that takes longer than its timeout is
// abandoned.

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { AddressGuard } from './address-guard.js';

export interface PostResult {
  /** The HTTP status; undefined when there was no answer. */
  status: number | undefined;
  /** Why the attempt failed (no answer, or a status that is not 2xx). */
  error: string | undefined;
}

/** Bytes of an answer's body read before the connection is dropped. */
const MAX_ANSWER_BYTES = 64 * 1024;

function guardedLookup(guard: AddressGuard): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '', 0);
      const list = addresses as LookupAddress[];
      for (const a of list) {
        const why = guard.refusal(a.address);
        if (why !== undefined) return callback(Object.assign(new Error(`${hostname}: ${why}`), { code: 'HALYARD_ADDRESS_REFUSED' }), '', 0);
      }
      if (options.all === true) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
      const first = list[0];
      if (first === undefined) return callback(Object.assign(new Error(`${hostname}: no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

export function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  opts: { guard: AddressGuard; timeoutMs: number },
): Promise<PostResult> {
  return new Promise((resolve) => {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      resolve({ status: undefined, error: 'not a URL' });
      return;
    }
    const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    if (isIP(host) !== 0) {
      const why = opts.guard.refusal(host);
      if (why !== undefined) {
        resolve({ status: undefined, error: why });
        return;
      }
    }
    let settled = false;
    const done = (r: PostResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const payload = Buffer.from(body);
    const options: RequestOptions = {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(payload.length),
        'user-agent': 'Halyard-Webhook/1',
      },
      lookup: guardedLookup(opts.guard),
      signal: AbortSignal.timeout(opts.timeoutMs),
      // A fresh connection each time: keep-alive would carry no guard re-check across DNS changes, and deliveries are few.
      agent: false,
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, options, (res) => {
      const status = res.statusCode ?? 0;
      let read = 0;
      res.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) res.destroy();
      });
      res.on('error', () => {});
      res.on('close', () =>
        done(
          status >= 200 && status < 300
            ? { status, error: undefined }
            : { status, error: `HTTP ${status}${status >= 300 && status < 400 ? ' (redirects are not followed)' : ''}` },
        ),
      );
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.name === 'AbortError' || err.name === 'TimeoutError' ? `no answer within ${opts.timeoutMs} ms` : err.message;
      done({ status: undefined, error: why.slice(0, 500) });
    });
    req.end(payload);
  });
}
