// Markers drawn on one canvas, for views with more than a few hundred of them: as SVG
// each marker is five elements that every live update diffs (25,000 at 5,000 devices,
// README.md § Web console, the frame times at that scale); on a canvas a redraw is one
// pass of paths, at most once per animation frame. The shapes are the SVG markers'
// (filled, hollow, a cross), so status still reads without colour; the device under
// the pointer is named in the tooltip and a click opens it, as with SVG markers.

import { useLayoutEffect, useRef } from 'preact/hooks';
import { navigate } from '../lib/router.tsx';
import type { Marker } from './coord-view.tsx';

const VAR: Record<string, string> = { good: '--good', pending: '--pending', neutral: '--fg-muted', off: '--off', bad: '--bad' };

/** The marker nearest (x, y) within 8 px, if any. */
function hit(points: readonly { m: Marker; x: number; y: number }[], x: number, y: number): Marker | undefined {
  let best: Marker | undefined;
  let bestD = 64;
  for (const p of points) {
    const d = (p.x - x) ** 2 + (p.y - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = p.m;
    }
  }
  return best;
}

export function MarkerCanvas({
  markers,
  px,
  width,
  height,
}: {
  markers: readonly Marker[];
  px: (m: Marker) => [number, number];
  width: number;
  height: number;
}) {
  const ref = useRef<HTMLCanvasElement>(null);
  const points = useRef<{ m: Marker; x: number; y: number }[]>([]);
  const frame = useRef<number | undefined>(undefined);

  // A redraw per animation frame at most, whatever the rate of updates.
  points.current = markers.map((m) => {
    const [x, y] = px(m);
    return { m, x, y };
  });
  useLayoutEffect(() => {
    if (frame.current !== undefined) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = undefined;
      draw(ref.current, points.current, width, height);
    });
  });
  useLayoutEffect(
    () => () => {
      if (frame.current !== undefined) cancelAnimationFrame(frame.current);
    },
    [],
  );

  return (
    <canvas
      ref={ref}
      class="marker-canvas"
      data-testid="marker-canvas"
      data-markers={markers.length}
      style={{ position: 'absolute', left: 0, top: 0, width: `${width}px`, height: `${height}px`, cursor: 'default' }}
      onMouseMove={(e) => {
        const el = e.currentTarget;
        const r = el.getBoundingClientRect();
        const m = hit(points.current, e.clientX - r.left, e.clientY - r.top);
        el.title = m ? `${m.id}: ${m.label} (${m.lat.toFixed(5)}, ${m.lon.toFixed(5)})` : '';
        el.style.cursor = m?.href ? 'pointer' : 'default';
      }}
      onClick={(e) => {
        const r = e.currentTarget.getBoundingClientRect();
        const m = hit(points.current, e.clientX - r.left, e.clientY - r.top);
        if (m?.href) navigate(m.href);
      }}
    />
  );
}

function draw(
  canvas: HTMLCanvasElement | null,
  points: readonly { m: Marker; x: number; y: number }[],
  width: number,
  height: number,
): void {
  if (canvas === null) return;
  const dpr = window.devicePixelRatio || 1;
  if (canvas.width !== Math.round(width * dpr) || canvas.height !== Math.round(height * dpr)) {
    canvas.width = Math.round(width * dpr);
    canvas.height = Math.round(height * dpr);
  }
  const g = canvas.getContext('2d');
  if (g === null) return;
  const css = getComputedStyle(canvas);
  const colour = (tone: string) => css.getPropertyValue(VAR[tone] ?? '--fg-muted').trim() || '#888';
  g.setTransform(dpr, 0, 0, dpr, 0, 0);
  g.clearRect(0, 0, width, height);
  // One path per tone and shape: a few fills and strokes for the whole fleet.
  const byTone = new Map<string, { x: number; y: number }[]>();
  for (const p of points) {
    const list = byTone.get(p.m.tone);
    if (list) list.push(p);
    else byTone.set(p.m.tone, [p]);
  }
  for (const [tone, list] of byTone) {
    g.beginPath();
    if (tone === 'bad') {
      for (const { x, y } of list) {
        g.moveTo(x - 5, y - 5);
        g.lineTo(x + 5, y + 5);
        g.moveTo(x + 5, y - 5);
        g.lineTo(x - 5, y + 5);
      }
      g.strokeStyle = colour('bad');
      g.lineWidth = 2.5;
      g.stroke();
    } else if (tone === 'off') {
      for (const { x, y } of list) {
        g.moveTo(x + 5, y);
        g.arc(x, y, 5, 0, 2 * Math.PI);
      }
      g.fillStyle = css.getPropertyValue('--panel').trim() || '#fff';
      g.fill();
      g.strokeStyle = colour('off');
      g.lineWidth = 2;
      g.stroke();
    } else {
      for (const { x, y } of list) {
        g.moveTo(x + 4, y);
        g.arc(x, y, 4, 0, 2 * Math.PI);
      }
      g.fillStyle = colour(tone);
      g.fill();
    }
  }
}
