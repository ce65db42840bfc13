// Whether a browser request comes from the hub's own pages: the CSRF defence of
// the HTTP API and the console upgrade's Origin check.

/** The request's origin matches the hub's own (SPEC.md §10.1; CSRF defence). */
export function sameOrigin(origin: string | undefined, host: string | undefined, tls: boolean): boolean {
  if (origin === undefined || host === undefined) return false;
  return origin === `${tls ? 'https' : 'http'}://${host}`;
}
