// The firmware library (docs/firmware.md): upload (streamed), list, inspect, delete,
// and the public key devices verify signatures with. Viewers read; operators and
// admins upload and delete.

import { Readable } from 'node:stream';
import { z } from 'zod';
import type { HubContext } from '../../context.js';
import { HubError, HubErrorCode } from '../../errors.js';
import { clientGone } from '../client-gone.js';
import { httpRequester } from '../requester.js';
import type { Routes } from '../route.js';

/** Text a device reports in HELLO (SPEC.md §3.5: at most 128 bytes); U+0000 is refused (PostgreSQL's text cannot hold it). */
const identifier = (what: string) =>
  z
    .string()
    .min(1)
    .refine((s) => Buffer.byteLength(s) <= 128, `${what}: at most 128 bytes (SPEC.md §3.5)`)
    .refine((s) => !s.includes('\u0000'), `${what} without U+0000`);

/** A request body that ended because its connection did (Node's 'aborted', a reset). */

const firmwareId = z.string().regex(/^fw-[0-9a-f]{16}$/, 'a firmware id, fw-<16 hex digits>');

export const firmwareShape = z.object({
  id: z.string(),
  model: z.string(),
  version: z.string(),
  notes: z.string(),
  size: z.number().describe('bytes'),
  sha256: z.string().nullable().describe('hex; null while uploading'),
  signature: z.string().nullable().describe('base64 Ed25519 signature (SPEC.md §12.8); null when unsigned'),
  status: z.enum(['uploading', 'ready']),
  createdAt: z.number(),
  createdBy: z.string(),
});

const keyShape = z.object({
  algorithm: z.literal('Ed25519'),
  publicKey: z.string().describe('the raw 32-byte key, base64: what devices are provisioned with'),
  pem: z.string().describe('the same key as PEM (SPKI)'),
  fingerprint: z.string().describe('SHA-256 of the raw key, hex'),
});

export function firmwareRoutes(routes: Routes, ctx: HubContext): void {
  routes.add({
    method: 'post',
    path: '/firmware',
    summary: 'Upload a firmware image: the body is the image, streamed; the hub computes its size and SHA-256 and signs it',
    tag: 'firmware',
    role: 'operator',
    status: 201,
    query: z
      .object({
        model: identifier('model'),
        version: identifier('version').describe("what devices report as HELLO's fw once they run it"),
        notes: z
          .string()
          .max(4_000)
          .refine((n) => !n.includes('\u0000'), 'notes without U+0000')
          .optional()
          .describe('release notes'),
      })
      .strict(),
    rawBody: { contentType: 'application/octet-stream', description: 'the image, at most --firmware-max-size bytes' },
    response: firmwareShape,
    handler: async ({ c, query, caller }) => {
      const type = c.req.header('content-type') ?? 'application/octet-stream';
      if (!/^application\/octet-stream\b/i.test(type))
        throw new HubError(HubErrorCode.BadRequest, 'send the image as application/octet-stream');
      const length = c.req.header('content-length');
      const declared = length === undefined ? undefined : Number(length);
      const body = c.req.raw.body;
      if (body === null) throw new HubError(HubErrorCode.Validation, 'body: the image is empty', { field: 'body' });
      const stream = Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>);
      let received = 0;
      const counted = async function* () {
        for await (const part of stream as AsyncIterable<Uint8Array>) {
          received += part.length;
          yield part;
        }
      };
      try {
        const info = await ctx.firmware.upload(
          httpRequester(caller),
          { model: query.model, version: query.version, notes: query.notes ?? '' },
          counted(),
          declared,
        );
        return c.json(info, 201);
      } catch (err) {
        // The rest of a refused body is not worth reading.
        if (err instanceof HubError && (err.code === HubErrorCode.TooLarge || err.code === HubErrorCode.FirmwareLibraryFull))
          c.header('Connection', 'close');
        stream.destroy();
        if (!(err instanceof HubError) && (c.req.raw.signal.aborted || clientGone(err))) {
          // The client went away (or was cut off at the request timeout): its doing, not the hub's.
          ctx.log.info(
            { model: query.model, version: query.version, received, declared, user: caller?.username },
            'firmware upload cut off before its end: nothing kept',
          );
          throw new HubError(HubErrorCode.BadRequest, `the upload ended after ${received} bytes, before the end of the body`);
        }
        throw err;
      }
    },
  });

  routes.add({
    method: 'get',
    path: '/firmware',
    summary: 'Firmware images, newest first (uploads in progress included, status uploading)',
    tag: 'firmware',
    role: 'viewer',
    query: z.object({ model: z.string().optional() }).strict(),
    response: z.object({ firmware: z.array(firmwareShape) }),
    handler: async ({ c, query }) => c.json({ firmware: await ctx.firmware.list(query.model) }),
  });

  routes.add({
    method: 'get',
    path: '/firmware/signing-key',
    summary: 'The Ed25519 public key devices verify firmware signatures with (SPEC.md §12.8); made on first use',
    tag: 'firmware',
    role: 'viewer',
    response: keyShape,
    handler: async ({ c }) => c.json(await ctx.firmware.signingKey()),
  });

  routes.add({
    method: 'get',
    path: '/firmware/:id',
    summary: 'One firmware image',
    tag: 'firmware',
    role: 'viewer',
    params: z.object({ id: firmwareId }),
    response: firmwareShape,
    handler: async ({ c, params }) => c.json(await ctx.firmware.get(params.id)),
  });

  routes.add({
    method: 'delete',
    path: '/firmware/:id',
    summary: 'Delete a firmware image (refused, 409, while an update that is not over uses it)',
    tag: 'firmware',
    role: 'operator',
    status: 204,
    params: z.object({ id: firmwareId }),
    handler: async ({ c, params, caller }) => {
      await ctx.firmware.delete(httpRequester(caller), params.id);
      return c.body(null, 204);
    },
  });
}
