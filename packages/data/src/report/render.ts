import sharp from 'sharp';
import type { SplitName } from '../format/manifest.ts';

/** One picture to place in a grid: HWC uint8 pixels of the dataset's image shape. */
export interface Tile {
  pixels: Uint8Array;
}

export interface ImageShape {
  height: number;
  width: number;
  channels: number;
}

const FONT = 'DejaVu Sans, Liberation Sans, Arial, sans-serif';
const SPLIT_COLOURS: Record<SplitName, string> = { train: '#4e79a7', val: '#f28e2b', test: '#59a14f' };

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/** Tile edge in pixels: small images are enlarged (nearest neighbour, so pixels stay crisp) to be visible. */
function tileSize(shape: ImageShape): number {
  return Math.max(56, Math.min(128, Math.max(shape.width, shape.height)));
}

async function tilePng(pixels: Uint8Array, shape: ImageShape, size: number): Promise<Buffer> {
  return sharp(pixels, {
    raw: { width: shape.width, height: shape.height, channels: shape.channels as 1 | 3 },
  })
    .resize(size, size, { fit: 'contain', kernel: 'nearest', background: '#ffffff' })
    .png()
    .toBuffer();
}

/**
 * A PNG with one labelled row of images per row entry (e.g. per class), drawn with sharp: image tiles composited onto
 * a white canvas, and the title and row labels from one SVG overlay.
 */
export async function renderGrid(
  title: string,
  rows: Array<{ label: string; tiles: Tile[] }>,
  shape: ImageShape,
): Promise<Buffer> {
  const size = tileSize(shape);
  const gap = 4;
  const labelWidth = Math.min(260, 24 + 8 * Math.max(6, ...rows.map((row) => row.label.length)));
  const header = 36;
  const columns = Math.max(1, ...rows.map((row) => row.tiles.length));
  // Wide enough for the title too (bold 16px is about 9.5px a character).
  const width = Math.max(labelWidth + columns * (size + gap) + gap, Math.ceil(title.length * 9.5) + 16);
  const height = header + rows.length * (size + gap) + gap;
  const composites: sharp.OverlayOptions[] = [];
  for (const [r, row] of rows.entries()) {
    for (const [c, tile] of row.tiles.entries()) {
      composites.push({
        input: await tilePng(tile.pixels, shape, size),
        left: labelWidth + gap + c * (size + gap),
        top: header + gap + r * (size + gap),
      });
    }
  }
  const labels = rows
    .map(
      (row, r) =>
        `<text x="${labelWidth - 8}" y="${header + gap + r * (size + gap) + size / 2 + 5}" text-anchor="end">${escapeXml(row.label)}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}" font-size="14" fill="#222">
<text x="8" y="24" font-size="16" font-weight="bold">${escapeXml(title)}</text>${labels}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
}

/** Grouped bar chart of images per class and split, as SVG rendered to PNG by sharp. */
export async function renderClassHistogram(
  title: string,
  classNames: string[],
  counts: Record<SplitName, number[]>,
): Promise<Buffer> {
  const splits = (['train', 'val', 'test'] as const).filter((split) => counts[split].some((n) => n > 0));
  const max = Math.max(1, ...splits.flatMap((split) => counts[split]));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const left = 70;
  const plotTop = 50;
  const plotHeight = 300;
  const groupWidth = Math.max(24, Math.min(90, Math.floor(900 / classNames.length)));
  const barWidth = Math.max(2, Math.floor((groupWidth - 6) / Math.max(1, splits.length)));
  const longest = Math.max(...classNames.map((name) => name.length));
  const rotate = longest * 7 > groupWidth;
  const bottom = rotate ? Math.min(160, 20 + longest * 6) : 40;
  const width = left + classNames.length * groupWidth + 20;
  const height = plotTop + plotHeight + bottom + 30;
  const y = (value: number) => plotTop + plotHeight - (value / top) * plotHeight;
  const parts: string[] = [];
  for (let v = 0; v <= top; v += step) {
    parts.push(`<line x1="${left}" x2="${width - 20}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" font-size="11">${v}</text>`);
  }
  classNames.forEach((name, k) => {
    const x0 = left + k * groupWidth + 3;
    splits.forEach((split, s) => {
      const value = counts[split][k] ?? 0;
      parts.push(
        `<rect x="${x0 + s * barWidth}" y="${y(value)}" width="${barWidth - 1}" height="${plotTop + plotHeight - y(value)}" fill="${SPLIT_COLOURS[split]}"/>`,
      );
    });
    const cx = left + k * groupWidth + groupWidth / 2;
    const ly = plotTop + plotHeight + 16;
    parts.push(
      rotate
        ? `<text x="${cx}" y="${ly}" font-size="11" text-anchor="end" transform="rotate(-45 ${cx} ${ly})">${escapeXml(name)}</text>`
        : `<text x="${cx}" y="${ly}" font-size="12" text-anchor="middle">${escapeXml(name)}</text>`,
    );
  });
  parts.push(`<line x1="${left}" x2="${left}" y1="${plotTop}" y2="${plotTop + plotHeight}" stroke="#444"/>`);
  splits.forEach((split, s) => {
    const lx = left + s * 90;
    parts.push(`<rect x="${lx}" y="${height - 22}" width="12" height="12" fill="${SPLIT_COLOURS[split]}"/>`);
    parts.push(`<text x="${lx + 16}" y="${height - 12}" font-size="12">${split}</text>`);
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}" fill="#222">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="${left}" y="28" font-size="16" font-weight="bold">${escapeXml(title)}</text>
${parts.join('\n')}</svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function niceStep(max: number): number {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  return (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
}
