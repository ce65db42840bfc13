// Jobs in words: what a job does, and the new-job form's line under its device filters
// (how many devices the job takes in now, POST /jobs/preview, or why it cannot say).

/** The hub's count, or why it refused to count. */
export type JobPreview = { count: number; online: number } | { error: string };

/**
 * The new-job form's count of the devices its selection takes in now, in words: what
 * is missing before it can count, why it could not, or why none matches. `image` is
 * the chosen image of an update job (null: none chosen yet), undefined for other jobs.
 */
export function previewText(preview: JobPreview | undefined, image: { model: string; version: string } | null | undefined): string {
  if (image === null) return 'Choose an image to count the devices: an update takes in only devices of its model.';
  if (preview === undefined) return 'Counting the devices…';
  if ('error' in preview) return `Cannot count the devices: ${preview.error}`;
  const counted = `${preview.count} device${preview.count === 1 ? '' : 's'} (${preview.online} online now)`;
  if (preview.count > 0) return counted;
  return image === undefined
    ? `${counted}: none matches now; devices that join the selection are taken in until the job ends.`
    : `${counted}: none of model ${image.model} matches now (those already on ${image.version} are left out); devices that join the selection are taken in until the job ends.`;
}

/** The parts of a job's stored spec that say what it does (docs/jobs.md). */
export interface JobWhat {
  action: { type: string; name?: string; firmware?: string };
  selection: Record<string, unknown>;
  /** An update job's version (the hub sets it, and the selection's model, from the image). */
  target?: string;
}

/** "update to relay 5.0.0" (the image by model and version, not its id), "command flush", "desired patch". */
export function jobWhat(spec: JobWhat): string {
  const a = spec.action;
  if (a.type === 'command') return `command ${a.name ?? ''}`;
  if (a.type !== 'update') return 'desired patch';
  const model = spec.selection.model;
  return spec.target === undefined
    ? `update to ${a.firmware ?? ''}`
    : `update to ${typeof model === 'string' ? `${model} ` : ''}${spec.target}`;
}
