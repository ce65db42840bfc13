// Starting one of the store's worker threads, from the built JavaScript or, in
// tests, from the TypeScript sources (tsx's loader registered in the thread first).

import { Worker } from 'node:worker_threads';

/**
 * A worker running the module `file` (no extension) beside `from` (the caller's
 * import.meta.url), with `data` as its workerData.
 */
export function spawnWorker(from: string, file: string, data: unknown, name: string): Worker {
  const ext = from.endsWith('.ts') ? '.ts' : '.js';
  const entry = new URL(`./${file}${ext}`, from);
  if (ext === '.js') return new Worker(entry, { workerData: data, name });
  return new Worker(
    `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`,
    { eval: true, workerData: data, name },
  );
}
