// Devices chosen in the fleet table for a new job (checkboxes, or every device the
// filter matches), handed to the new-job form. Kept in sessionStorage, not the URL:
// thousands of ids would make a URL the hub refuses on a reload.

const KEY = 'halyard.job-selection';

export function setJobSelection(ids: readonly string[]): void {
  sessionStorage.setItem(KEY, JSON.stringify(ids));
}

export function jobSelection(): string[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? '[]') as unknown;
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}
