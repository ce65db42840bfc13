// The firmware benchmark's image: deterministic bytes, the same in the bench process
// and in its baseline server.

export function firmwareImage(size: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 2_654_435_761) >>> 24);
}
