// A request whose client went away mid-body (or was cut off at the request timeout):
// reading the body fails with ECONNRESET / "aborted". That is the client's doing, not
// the hub's: routes and the app's error handler log it as one info line, not an error.

/** Whether `err` is a body read that failed because the client's connection ended. */
export function clientGone(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e !== null && typeof e === 'object' && (e.code === 'ECONNRESET' || e.message === 'aborted');
}
