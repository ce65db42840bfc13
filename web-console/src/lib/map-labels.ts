// Where each marker's label goes on the coordinate view: to the right of its marker,
// or to the left when it would run past the map's edge or over a label already
// placed; none when neither side is free (its id stays in the marker's tooltip).
// Without this, labels of nearby devices were drawn over each other into an unreadable
// pile, and those near the right edge were cut (operator, on a phone).

/** Width of one character of an 11 px label, px: enough for ids in a proportional font. */
const CHAR_PX = 6.6;
/** Label height, px (11 px text). */
const LINE_PX = 13;
/** Gap between a marker's centre and its label, px. */
const GAP_PX = 8;

export type LabelSide = 'right' | 'left' | null;

interface Box {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

const overlaps = (a: Box, b: Box) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;

/** The side of each point's label (in the order given: earlier points win), within `width`. */
export function placeLabels(points: readonly { x: number; y: number; text: string }[], width: number): LabelSide[] {
  const placed: Box[] = [];
  return points.map((p) => {
    const w = p.text.length * CHAR_PX;
    const y0 = p.y - LINE_PX / 2;
    const sides: [LabelSide, Box][] = [
      ['right', { x0: p.x + GAP_PX, x1: p.x + GAP_PX + w, y0, y1: y0 + LINE_PX }],
      ['left', { x0: p.x - GAP_PX - w, x1: p.x - GAP_PX, y0, y1: y0 + LINE_PX }],
    ];
    for (const [side, box] of sides) {
      if (box.x0 < 0 || box.x1 > width) continue;
      if (placed.some((b) => overlaps(b, box))) continue;
      placed.push(box);
      return side;
    }
    return null;
  });
}
