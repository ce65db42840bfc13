// MQTT topic filters (MQTT 3.1.1 §4.7): validation, matching a topic, and whether
// two filters can ever match the same topic. The ACL is built on these.

/** Deepest topic or filter the hub accepts, levels. aedes would allow 100; ours are at most ~10 deep. */
export const MAX_TOPIC_LEVELS = 32;

/** Why `filter` is not a valid topic filter, or undefined if it is. */
export function filterError(filter: string): string | undefined {
  if (filter.length === 0) return 'a topic filter must not be empty'; // [MQTT-4.7.3-1]
  if (filter.length > 1024) return 'a topic filter must be at most 1024 characters';
  if (filter.startsWith('$')) return 'topics starting with $ are reserved';
  const levels = filter.split('/');
  if (levels.length > MAX_TOPIC_LEVELS) return `a topic filter must have at most ${MAX_TOPIC_LEVELS} levels`;
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i] as string;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return '# must be a whole level, and the last'; // [MQTT-4.7.1-2]
    if (l.includes('+') && l !== '+') return '+ must be a whole level'; // [MQTT-4.7.1-3]
    if (l.includes('\u0000')) return 'a topic filter must not contain U+0000';
  }
  return undefined;
}

/** Does `topic` (no wildcards) match `filter`? `a/#` matches `a` too [MQTT-4.7.1-2]. */
export function topicMatches(filter: string, topic: string): boolean {
  return levelsMatch(filter.split('/'), topic);
}

/**
 * topicMatches with the filter split into its levels beforehand: it runs for every
 * message delivered to every client (ACLs), so it walks the topic in place rather
 * than splitting it.
 */
export function levelsMatch(filter: readonly string[], topic: string): boolean {
  /** Where the topic's current level begins; past its end once every level is used. */
  let at = 0;
  for (let i = 0; i < filter.length; i++) {
    const level = filter[i] as string;
    // [MQTT-4.7.2-1]: a wildcard first level does not match `$` topics.
    if (level === '#') return i > 0 || topic.charCodeAt(0) !== 0x24;
    if (at > topic.length) return false;
    let end = topic.indexOf('/', at);
    if (end === -1) end = topic.length;
    if (level === '+') {
      if (i === 0 && topic.charCodeAt(0) === 0x24) return false;
    } else if (end - at !== level.length || !topic.startsWith(level, at)) return false;
    at = end + 1;
  }
  return at > topic.length;
}

/** Can some topic match both filters? Used to refuse subscriptions that could never be allowed anything. */
export function filtersOverlap(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; ; i++) {
    const xl = x[i];
    const yl = y[i];
    if (xl === '#' || yl === '#') return true;
    if (xl === undefined || yl === undefined) {
      // One ran out: the other may only go on with a final `#` (which also matches the parent).
      const rest = (xl === undefined ? y : x).slice(i);
      return rest.length === 0 || (rest.length === 1 && rest[0] === '#');
    }
    if (xl !== '+' && yl !== '+' && xl !== yl) return false;
  }
}
