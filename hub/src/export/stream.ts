// A streamed export: rows read page by page, encoded as CSV (with a header row) or
// NDJSON, and written only as fast as the client takes them. The response body is
// a pull stream: the next page is read when the socket has drained the last
// (@hono/node-server waits for 'drain' before it reads again), so memory holds
// about one page whatever the range; a client that disconnects cancels the stream
// and the reading stops at the page in hand. A failure after the first bytes ends
// the connection without the chunked terminator, so a client sees a broken
// transfer, never a file that looks complete but is short.

import type { Logger } from '../log.js';
import { csvRow } from './csv.js';

export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

type Field = string | number | boolean | null | undefined;

/** How one kind of row is written. */
export interface ExportTable<R> {
  /** CSV header row. */
  columns: readonly string[];
  /** CSV fields, in `columns` order. */
  csv(row: R): Field[];
  /** The whole CSV record with its CRLF, when the table can make it faster than csvRow(csv(row)). */
  csvLine?(row: R): string;
  /** The NDJSON object. */
  json(row: R): Record<string, unknown>;
}

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

/**
 * Longest an export waits for its client to take the next chunk (ms): a client that
 * neither reads nor disconnects would otherwise hold one of the hub's export slots
 * (and a store cursor's worth of state) for ever.
 */
export const EXPORT_STALL_MS = 120_000;

/**
 * Longest an export holds the event loop (ms) before it lets other work in. A fast
 * client on a fast link never makes the socket push back, so pages followed one
 * another in microtasks: an 846 MB export held every device's ACK for 11 s (red
 * team). And a fine bucket over a sparse range is thousands of empty windows a
 * metric: read in one go, 1,000 metrics held every socket of the hub for 13 s.
 */
export const EXPORT_TURN_MS = 10;

/** Figures about an export, for logs and metrics. */
export interface ExportDone {
  rows: number;
  bytes: number;
  /** Ended by the client before the last page (or abandoned: no read for EXPORT_STALL_MS). */
  aborted: boolean;
}

/**
 * The response for `pages` (each an array of rows) in `format`, named `filename`
 * (without extension) for a browser's download; `done` runs once when it ends.
 */
export function exportResponse<R>(
  format: ExportFormat,
  filename: string,
  table: ExportTable<R>,
  pages: AsyncIterable<R[]>,
  log: Logger,
  done?: (d: ExportDone) => void,
  stallMs = EXPORT_STALL_MS,
): Response {
  const it = pages[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  const stats: ExportDone = { rows: 0, bytes: 0, aborted: false };
  let header = format === 'csv';
  let finished = false;
  let stall: NodeJS.Timeout | undefined;
  // When this export's current turn on the event loop began.
  let turn = Date.now();
  /** Lets other work in once the turn is over; true when the client went away meanwhile (cancel has run). */
  const giveWay = async (): Promise<boolean> => {
    if (Date.now() - turn < EXPORT_TURN_MS) return false;
    await new Promise<void>((resolve) => setImmediate(resolve));
    turn = Date.now();
    return finished;
  };
  const finish = () => {
    clearTimeout(stall);
    if (finished) return;
    finished = true;
    done?.(stats);
  };
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        clearTimeout(stall);
        try {
          let text = '';
          if (header) {
            text = csvRow(table.columns);
            header = false;
          }
          // Skip empty pages so every pull enqueues something (or ends), in turns of EXPORT_TURN_MS.
          for (;;) {
            if (await giveWay()) return;
            const next = await it.next();
            if (next.done === true) break;
            const rows = next.value;
            if (rows.length === 0) continue;
            stats.rows += rows.length;
            const parts: string[] = [];
            if (format === 'csv' && table.csvLine !== undefined) for (const r of rows) parts.push(table.csvLine(r));
            else if (format === 'csv') for (const r of rows) parts.push(csvRow(table.csv(r)));
            else for (const r of rows) parts.push(`${JSON.stringify(table.json(r))}\n`);
            text += parts.join('');
            break;
          }
          if (text.length === 0) {
            controller.close();
            finish();
            return;
          }
          const bytes = encoder.encode(text);
          stats.bytes += bytes.length;
          controller.enqueue(bytes);
          stall = setTimeout(() => {
            stats.aborted = true;
            log.warn({ filename, rows: stats.rows, stallMs }, 'export abandoned: the client stopped reading');
            controller.error(new Error('the client stopped reading'));
            finish();
            void it.return?.();
          }, stallMs);
          stall.unref();
        } catch (err) {
          log.warn({ err, filename }, 'export failed after it started');
          controller.error(err);
          finish();
        }
      },
      async cancel() {
        stats.aborted = true;
        finish();
        await it.return?.();
      },
    },
    { highWaterMark: 1 },
  );
  return new Response(body, {
    headers: {
      'content-type': CONTENT_TYPE[format],
      'content-disposition': `attachment; filename="${filename}.${format}"`,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
