// Close codes a device session ends with (SPEC.md §8.4), in words, for presence rows.

export const CLOSE_CODES: Record<number, string> = {
  1000: 'normal close',
  1001: 'going away',
  1006: 'connection lost',
  1011: 'internal error',
  4400: 'malformed frame',
  4403: 'revoked',
  4408: 'no HELLO in time',
  4409: 'replaced by a newer connection',
  4413: 'frame too large',
  4429: 'rate limited',
};
