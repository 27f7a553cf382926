/**
 * Matplotlib's "Blues" colormap, which the seaborn heatmap in the walkthrough uses.
 * Matplotlib builds it as a LinearSegmentedColormap from nine ColorBrewer colours and samples
 * it into a 256-entry lookup table; a value picks entry floor(value * 256). Doing the same here
 * gives the same colours, banding included.
 */
const BLUES_STOPS = ['#f7fbff', '#deebf7', '#c6dbef', '#9ecae1', '#6baed6', '#4292c6', '#2171b5', '#08519c', '#08306b'];
const LUT_SIZE = 256;

export type Rgb = readonly [number, number, number];

const stops: Rgb[] = BLUES_STOPS.map(hexToRgb01);
const lookupTable: Rgb[] = Array.from({ length: LUT_SIZE }, (_, i) => interpolateStops(i / (LUT_SIZE - 1)));

/** Colour (channels 0..1) for a value already scaled to 0..1; out-of-range values are clipped. */
export function blues(value: number): Rgb {
  const index = Math.min(LUT_SIZE - 1, Math.max(0, Math.floor(value * LUT_SIZE)));
  return lookupTable[Number.isNaN(index) ? 0 : index];
}

/** CSS colour string, 8-bit channels rounded as Agg does when matplotlib saves a PNG. */
export function toCss([r, g, b]: Rgb): string {
  return `rgb(${Math.round(r * 255)}, ${Math.round(g * 255)}, ${Math.round(b * 255)})`;
}

/**
 * Seaborn's rule for annotation colour: near-black (".15") text on cells whose WCAG relative
 * luminance is above 0.408, white below, so counts stay readable on dark cells.
 */
export function annotationColorOn(background: Rgb): string {
  return relativeLuminance(background) > 0.408 ? '#262626' : '#ffffff';
}

export function relativeLuminance([r, g, b]: Rgb): number {
  const linear = (c: number): number => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b);
}

function interpolateStops(position: number): Rgb {
  const scaled = position * (stops.length - 1);
  const lower = Math.min(stops.length - 2, Math.floor(scaled));
  const t = scaled - lower;
  const [a, b] = [stops[lower], stops[lower + 1]];
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function hexToRgb01(hex: string): Rgb {
  const channel = (offset: number): number => parseInt(hex.slice(offset, offset + 2), 16) / 255;
  return [channel(1), channel(3), channel(5)];
}
