// A JSON document, pretty-printed, with chosen top-level keys highlighted (a twin's
// delta) and marked in words for those who cannot see the colour.

import type { JsonObject } from '@halyard/firmware-protocol';

export function JsonView({ doc, highlight, label }: { doc: JsonObject; highlight?: ReadonlySet<string>; label: string }) {
  const keys = Object.keys(doc);
  if (keys.length === 0)
    return (
      <pre class="json empty" data-doc={label}>
        {'{}'}
      </pre>
    );
  return (
    <pre class="json" data-doc={label}>
      {'{\n'}
      {keys.map((k, i) => {
        const body = JSON.stringify(doc[k], null, 2).replace(/\n/g, '\n  ');
        const hot = highlight?.has(k) ?? false;
        return (
          <span key={k} class={hot ? 'json-line hot' : 'json-line'} title={hot ? 'differs from reported' : undefined}>
            {`  ${JSON.stringify(k)}: ${body}${i < keys.length - 1 ? ',' : ''}`}
            {hot ? <span class="sr-only"> (differs)</span> : null}
            {'\n'}
          </span>
        );
      })}
      {'}'}
    </pre>
  );
}
