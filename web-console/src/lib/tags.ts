// Tags as people type them ("lab, floor-2"): trimmed, empty ones dropped, and checked
// the way the hub checks them, plus duplicates (the hub would store "lab" twice).

export function parseTags(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** What is wrong with a tag list, in words; undefined when the hub will take it. */
export function tagsError(tags: readonly string[]): string | undefined {
  if (tags.some((t) => t.length > 64)) return 'each tag at most 64 characters';
  if (tags.length > 32) return 'at most 32 tags';
  const seen = new Set<string>();
  for (const t of tags) {
    if (seen.has(t)) return `"${t}" is listed twice`;
    seen.add(t);
  }
  return undefined;
}
