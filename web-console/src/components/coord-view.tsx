// A plain coordinate view, drawn in SVG: devices (or one device's trail) placed by
// latitude and longitude over a labelled graticule, without tiles, since many
// installations reach no tile server. With a tile URL setting ({z}/{x}/{y}) the
// matching Web Mercator tiles are drawn underneath.

import type { RefObject } from 'preact';
import { useLayoutEffect, useRef, useState } from 'preact/hooks';
import { placeLabels } from '../lib/map-labels.ts';
import { fit, type LatLon, niceStep, project, unproject } from '../lib/mercator.ts';
import { navigate } from '../lib/router.tsx';
import { mapTileUrl } from '../lib/settings.ts';
import { MarkerCanvas } from './marker-canvas.tsx';
import type { Tone } from './status.tsx';

export interface Marker extends LatLon {
  id: string;
  tone: Tone;
  /** Said with the marker (title, legend): colour is never the only signal. */
  label: string;
  href?: string;
}

const HEIGHT = 420;

/** Up to this many markers are SVG (labelled, each a link); more go on a canvas (marker-canvas.tsx). */
export const SVG_MARKERS = 300;

function useWidth(): [RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [w, setW] = useState(800);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el === null) return;
    setW(el.clientWidth || 800);
    const ro = new ResizeObserver(() => setW(el.clientWidth || 800));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, w];
}

/** Marker shapes by tone, so status reads without colour too. */
function Shape({ x, y, tone }: { x: number; y: number; tone: Tone }) {
  if (tone === 'bad')
    return <path d={`M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x + 5} ${y - 5}L${x - 5} ${y + 5}`} class="mk-stroke tone-bad" />;
  if (tone === 'off') return <circle cx={x} cy={y} r={5} class="mk-hollow" />;
  return <circle cx={x} cy={y} r={6} class={`mk-fill mk-${tone}`} />;
}

export function CoordView({ markers, trail, label }: { markers: readonly Marker[]; trail?: readonly LatLon[]; label: string }) {
  const [ref, width] = useWidth();
  const all: LatLon[] = [...markers, ...(trail ?? [])];
  const f = fit(all, width, HEIGHT);
  const px = (p: LatLon): [number, number] => {
    const [x, y] = project(p);
    return [(x - f.x0) * f.scale, (y - f.y0) * f.scale];
  };
  const nw = unproject(f.x0, f.y0);
  const se = unproject(f.x0 + width / f.scale, f.y0 + HEIGHT / f.scale);
  const lonStep = niceStep(se.lon - nw.lon);
  const latStep = niceStep(nw.lat - se.lat);
  const lons: number[] = [];
  for (let v = Math.ceil(nw.lon / lonStep) * lonStep; v <= se.lon; v += lonStep) lons.push(v);
  const lats: number[] = [];
  for (let v = Math.ceil(se.lat / latStep) * latStep; v <= nw.lat; v += latStep) lats.push(v);
  const digits = (step: number) => Math.max(0, -Math.floor(Math.log10(step)));
  const tiles = tileImages(f, width);
  const path =
    trail && trail.length > 1
      ? `M${trail
          .map((p) =>
            px(p)
              .map((n) => n.toFixed(1))
              .join(' '),
          )
          .join('L')}`
      : undefined;
  const sides =
    markers.length > SVG_MARKERS
      ? []
      : placeLabels(
          markers.map((m) => {
            const [x, y] = px(m);
            return { x, y, text: m.id };
          }),
          width,
        );
  return (
    <div ref={ref} class="coord-view panel" style={{ position: 'relative' }}>
      <svg width={width} height={HEIGHT} role="img" aria-label={label}>
        {tiles.map((t) => (
          <image key={t.href} href={t.href} x={t.x} y={t.y} width={t.size} height={t.size} />
        ))}
        {lons.map((v) => {
          const x = px({ lat: nw.lat, lon: v })[0];
          return (
            <g key={`lon${v}`} class="grat">
              <line x1={x} x2={x} y1={0} y2={HEIGHT} />
              <text x={x + 3} y={HEIGHT - 4}>
                {v.toFixed(digits(lonStep))}°
              </text>
            </g>
          );
        })}
        {lats.map((v) => {
          const y = px({ lat: v, lon: nw.lon })[1];
          return (
            <g key={`lat${v}`} class="grat">
              <line x1={0} x2={width} y1={y} y2={y} />
              <text x={3} y={y - 3}>
                {v.toFixed(digits(latStep))}°
              </text>
            </g>
          );
        })}
        {path ? <path d={path} class="trail" data-testid="trail" /> : null}
        {markers.length > SVG_MARKERS
          ? null
          : markers.map((m, i) => {
              const [x, y] = px(m);
              const side = sides[i];
              const body = (
                <g data-marker={m.id} data-tone={m.tone}>
                  <title>{`${m.id}: ${m.label} (${m.lat.toFixed(5)}, ${m.lon.toFixed(5)})`}</title>
                  <Shape x={x} y={y} tone={m.tone} />
                  {side === null || side === undefined ? null : (
                    <text x={side === 'right' ? x + 8 : x - 8} y={y + 4} class="mk-label" text-anchor={side === 'right' ? 'start' : 'end'}>
                      {m.id}
                    </text>
                  )}
                </g>
              );
              return m.href ? (
                <a
                  key={m.id}
                  href={m.href}
                  onClick={(e) => {
                    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
                    e.preventDefault();
                    navigate(m.href as string);
                  }}
                >
                  {body}
                </a>
              ) : (
                <g key={m.id}>{body}</g>
              );
            })}
      </svg>
      {markers.length > SVG_MARKERS ? <MarkerCanvas markers={markers} px={px} width={width} height={HEIGHT} /> : null}
    </div>
  );
}

/** The tiles under the view at the zoom whose tiles are closest to 256 px, when a tile URL is set. */
function tileImages(f: { scale: number; x0: number; y0: number }, width: number): { href: string; x: number; y: number; size: number }[] {
  const url = mapTileUrl();
  if (url === undefined) return [];
  const z = Math.max(0, Math.min(19, Math.round(Math.log2(f.scale / 256))));
  const n = 2 ** z;
  const size = f.scale / n;
  const out: { href: string; x: number; y: number; size: number }[] = [];
  const x1 = Math.floor(f.x0 * n);
  const y1 = Math.floor(f.y0 * n);
  const x2 = Math.floor((f.x0 + width / f.scale) * n);
  const y2 = Math.floor((f.y0 + HEIGHT / f.scale) * n);
  // Bounded: a view never needs more than a few dozen tiles.
  for (let tx = x1; tx <= x2 && out.length < 64; tx++) {
    for (let ty = Math.max(0, y1); ty <= Math.min(n - 1, y2) && out.length < 64; ty++) {
      const wx = ((tx % n) + n) % n;
      out.push({
        href: url.replace('{z}', String(z)).replace('{x}', String(wx)).replace('{y}', String(ty)),
        x: (tx / n - f.x0) * f.scale,
        y: (ty / n - f.y0) * f.scale,
        size,
      });
    }
  }
  return out;
}
