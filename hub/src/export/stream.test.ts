import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { type ExportDone, exportResponse } from './stream.js';

const table = { columns: ['n'], csv: (r: number) => [r], json: (r: number) => ({ n: r }) };

describe('export stream', () => {
  it('reads a page only when the last was taken, and gives up on a client that stops reading', async () => {
    let pagesRead = 0;
    async function* pages(): AsyncGenerator<number[]> {
      for (let i = 0; i < 1_000; i++) {
        pagesRead++;
        yield [i];
      }
    }
    let ended: ExportDone | undefined;
    const res = exportResponse(
      'csv',
      'x',
      table,
      pages(),
      pino({ level: 'silent' }),
      (d) => {
        ended = d;
      },
      50,
    );
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'n\r\n0\r\n');
    // The stream keeps one chunk ready (highWaterMark 1), no more.
    assert.ok(pagesRead <= 2, `${pagesRead} pages read`);
    await assert.rejects(new Promise((resolve, reject) => setTimeout(() => reader.read().then(resolve, reject), 200)), /stopped reading/);
    assert.equal(ended?.aborted, true);
    assert.ok(pagesRead <= 3, `${pagesRead} pages read`);
  });
});
