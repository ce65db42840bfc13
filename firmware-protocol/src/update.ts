// Firmware updates over the device channel (SPEC.md §12): the update states and
// reason codes, the step timeouts and limits a hub applies, the bytes an update's
// Ed25519 signature covers, and the size a CHUNK can reach. Pure: no crypto, no I/O.

/** Capability a device lists in HELLO's `caps` to receive update messages (SPEC.md §12.1). */
export const UPDATE_CAPABILITY = 'ota';

/** Update job ids: 1-64 characters, a letter or digit first, then letters, digits, `_ . : -` (SPEC.md §12.2). */
export const UPDATE_JOB_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

export function isUpdateJobId(value: unknown): value is string {
  return typeof value === 'string' && UPDATE_JOB_PATTERN.test(value);
}

/**
 * UPDATE_STATUS states (SPEC.md §12.5). `offered` and `timed_out` are the hub's own:
 * a device never sends them. `succeeded` is final only once the device's next HELLO
 * carries the offered version.
 */
export const UpdateState = {
  Offered: 0,
  Downloading: 1,
  Downloaded: 2,
  Verifying: 3,
  Installing: 4,
  Rebooting: 5,
  Succeeded: 6,
  Failed: 7,
  Rejected: 8,
  Cancelled: 9,
  TimedOut: 10,
  RolledBack: 11,
} as const;
export type UpdateStateNumber = (typeof UpdateState)[keyof typeof UpdateState];

export const UPDATE_STATE_NAMES = [
  'offered',
  'downloading',
  'downloaded',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rejected',
  'cancelled',
  'timed_out',
  'rolled_back',
] as const;
export type UpdateStateName = (typeof UPDATE_STATE_NAMES)[number];

/** States a device may send in UPDATE_STATUS. */
export const DEVICE_UPDATE_STATES: ReadonlySet<number> = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 11]);
/** States after which nothing more happens for the job on that device. */
export const FINAL_UPDATE_STATES: ReadonlySet<UpdateStateName> = new Set([
  'succeeded',
  'failed',
  'rejected',
  'cancelled',
  'timed_out',
  'rolled_back',
]);

/** States that need a reason code (SPEC.md §12.5). */
export const REASON_STATES: ReadonlySet<number> = new Set([UpdateState.Failed, UpdateState.Rejected, UpdateState.RolledBack]);

/**
 * Reason codes of `failed`, `rejected` and `rolled_back` (SPEC.md §12.6). A receiver
 * shows a code it does not know as `other`: later versions may add codes.
 */
export const UpdateReason = {
  Other: 0,
  SizeMismatch: 1,
  DigestMismatch: 2,
  SignatureInvalid: 3,
  Unsigned: 4,
  WrongModel: 5,
  LowBattery: 6,
  NoSpace: 7,
  Busy: 8,
  Policy: 9,
  DownloadFailed: 10,
  InstallFailed: 11,
  BootFailed: 12,
} as const;

export const UPDATE_REASON_NAMES: readonly string[] = [
  'other',
  'size_mismatch',
  'digest_mismatch',
  'signature_invalid',
  'unsigned',
  'wrong_model',
  'low_battery',
  'no_space',
  'busy',
  'policy',
  'download_failed',
  'install_failed',
  'boot_failed',
];

/** The name of a reason code; `other` for codes this version does not know. */
export function updateReasonName(code: number): string {
  return UPDATE_REASON_NAMES[code] ?? 'other';
}

/**
 * Reasons after which the hub offers the update again, up to UPDATE_MAX_ATTEMPTS: the
 * download went wrong, the image may still be good. Every other reason is final.
 */
export const RETRYABLE_REASONS: ReadonlySet<number> = new Set([
  UpdateReason.SizeMismatch,
  UpdateReason.DigestMismatch,
  UpdateReason.DownloadFailed,
]);

/** Step timeouts and limits of SPEC.md §12.7, in ms where they are times. */
export const UpdateLimits = {
  /** An UPDATE_OFFER must be answered with UPDATE_STATUS within this, while connected. */
  offerAnswerMs: 30_000,
  /** Connected, downloading, and neither CHUNK_REQUEST nor UPDATE_STATUS for this long: the attempt timed out. */
  downloadIdleMs: 120_000,
  /** From `installing` or `rebooting` to the HELLO that says how it went. */
  installMs: 600_000,
  /** Attempts (offers that started a download) before the update ends failed or timed_out. */
  maxAttempts: 3,
  /** CHUNK_REQUESTs a device may have outstanding; past it the hub closes with 4429. */
  maxOutstandingChunks: 16,
  /** Largest CHUNK payload a hub offers: the byte-string limit of SPEC.md §9. */
  maxChunk: 16_384,
  /** Device side: re-request a chunk not answered within this. */
  chunkRetryMs: 30_000,
} as const;

/**
 * Bytes a CHUNK adds around its payload at most: array head 1, type 1, job id 2 + 64,
 * offset 9, byte-string head 5. A device whose receive buffer holds B bytes requests
 * at most B - CHUNK_OVERHEAD per CHUNK_REQUEST (SPEC.md §12.3).
 */
export const CHUNK_OVERHEAD = 82;

/** Domain separation prefix of the signed bytes (SPEC.md §12.8). */
export const SIGNATURE_CONTEXT = 'halyard-firmware-v1';

export interface SignedImage {
  model: string;
  fw: string;
  size: number;
  sha256: Uint8Array;
}

/**
 * The bytes an update's Ed25519 signature covers (SPEC.md §12.8):
 * `"halyard-firmware-v1" 0x00 model 0x00 fw 0x00 size (8 bytes, big-endian) sha256 (32 bytes)`.
 * Binding model and version means a signed image cannot be offered as another
 * model's or as a different version.
 */
export function signedBytes(image: SignedImage): Uint8Array {
  const enc = new TextEncoder();
  const parts = [enc.encode(SIGNATURE_CONTEXT), enc.encode(image.model), enc.encode(image.fw)];
  const length = parts.reduce((n, p) => n + p.length + 1, 0) + 8 + image.sha256.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length + 1; // the 0x00 separator is already there
  }
  const view = new DataView(out.buffer);
  view.setUint32(at, Math.floor(image.size / 0x1_0000_0000));
  view.setUint32(at + 4, image.size >>> 0);
  out.set(image.sha256, at + 8);
  return out;
}
