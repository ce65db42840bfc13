// A virtualised list: only the rows in view (plus a margin) exist in the DOM, so 5,000
// devices scroll as smoothly as 50. Rows have one fixed height. Arrow keys, Page
// Up/Down, Home and End move the focus from row to row, scrolling as needed, so the
// list stays usable from the keyboard although most rows do not exist.

import type { VNode } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';

export interface VirtualListProps {
  count: number;
  rowHeight: number;
  /**
   * Renders row `index`; give it the item's key, so a scroll only builds the rows that
   * enter and drops those that leave while the others stay untouched.
   */
  renderRow: (index: number) => VNode;
  label: string;
  /** Rows rendered above and below the visible ones. */
  overscan?: number;
  /** Told the rows on screen (first, end exclusive) whenever they change. */
  onRange?: (first: number, end: number) => void;
}

export function VirtualList({ count, rowHeight, renderRow, label, overscan = 4, onRange }: VirtualListProps) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const focusIndex = useRef<number | undefined>(undefined);

  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    setHeight(el.clientHeight);
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Keys pressed on a row's link bubble up here (delegation: rows come and go as they scroll).
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    const fn = (e: KeyboardEvent) => keys.current(e);
    el.addEventListener('keydown', fn);
    return () => el.removeEventListener('keydown', fn);
  }, []);

  // After a keyboard move has rendered the target row, focus its link.
  useEffect(() => {
    const i = focusIndex.current;
    if (i === undefined) return;
    focusIndex.current = undefined;
    ref.current?.querySelector<HTMLElement>(`[data-index="${i}"] a, [data-index="${i}"] button`)?.focus();
  });

  const first = Math.max(0, Math.floor(scrollTop / rowHeight) - overscan);
  const last = Math.min(count, Math.ceil((scrollTop + height) / rowHeight) + overscan);
  const seenFirst = Math.min(count, Math.floor(scrollTop / rowHeight));
  const seenEnd = Math.min(count, Math.ceil((scrollTop + height) / rowHeight));
  useEffect(() => onRange?.(seenFirst, seenEnd), [seenFirst, seenEnd, onRange]);
  const rows: VNode[] = [];
  for (let i = first; i < last; i++) {
    const row = renderRow(i);
    rows.push(
      <li key={row.key ?? i} class="vrow" data-index={i} style={{ transform: `translateY(${i * rowHeight}px)`, height: `${rowHeight}px` }}>
        {row}
      </li>,
    );
  }

  keys.current = (e: KeyboardEvent) => {
    const el = ref.current;
    const from = (e.target as HTMLElement).closest<HTMLElement>('[data-index]');
    if (el === null || from === null) return;
    const at = Number(from.dataset.index);
    const page = Math.max(1, Math.floor(el.clientHeight / rowHeight) - 1);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, PageDown: at + page, PageUp: at - page, Home: 0, End: count - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = Math.max(0, Math.min(count - 1, to));
    const top = next * rowHeight;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + rowHeight > el.scrollTop + el.clientHeight) el.scrollTop = top + rowHeight - el.clientHeight;
    focusIndex.current = next;
    setScrollTop(el.scrollTop);
  };

  return (
    <div ref={ref} class="vlist" onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)}>
      <ul class="vlist-inner" aria-label={label} style={{ height: `${count * rowHeight}px` }}>
        {rows}
      </ul>
    </div>
  );
}
