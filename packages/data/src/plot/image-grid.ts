import sharp from 'sharp';
import { escapeXml } from '../report/render.ts';
import { CHART_FONT } from './render-chart.ts';

/** One line of text under a tile. */
export interface CaptionLine {
  text: string;
  /** CSS colour; default dark grey. */
  color?: string;
  bold?: boolean;
}

/** One picture of the grid: HWC uint8 pixels of `imageShape`, and the lines printed under it. */
export interface GridTile {
  pixels: Uint8Array;
  caption: CaptionLine[];
}

export interface ImageGridOptions {
  title: string;
  /** A smaller second line under the title (what the numbers mean). */
  subtitle?: string;
  tiles: GridTile[];
  /** [height, width, channels] of every tile's pixels; channels 1 (grey), 3 (RGB) or 4 (RGBA). */
  imageShape: readonly [number, number, number];
  /** Tiles per row; default the smallest square that holds them (at most 8). */
  columns?: number;
}

const CAPTION_SIZE = 12;
const LINE_HEIGHT = 15;
const GAP = 10;
/** DejaVu Sans at 12px averages about 7px a character (bold a little more); used to size cells. */
const CHAR_WIDTH = 7.4;

/**
 * A PNG grid of small images with a caption under each (e.g. the worst misclassified examples with their true and
 * predicted labels). Images are enlarged by a whole factor with nearest-neighbour sampling so small images (MNIST's
 * 28x28) stay crisp; text is one SVG overlay, drawn in the house font.
 */
export async function renderImageGrid(options: ImageGridOptions): Promise<Buffer> {
  const [height, width, channels] = options.imageShape;
  if (![1, 3, 4].includes(channels))
    throw new RangeError(`image channels must be 1, 3 or 4, got ${channels}`);
  const { tiles } = options;
  const longest = Math.max(height, width);
  const factor = longest <= 128 ? Math.max(1, Math.floor(128 / longest)) : 0;
  const tile = factor > 0 ? longest * factor : 128;
  const lines = Math.max(0, ...tiles.map((t) => t.caption.length));
  const widestCaption = Math.max(
    0,
    ...tiles.flatMap((t) => t.caption.map((line) => line.text.length * CHAR_WIDTH * (line.bold ? 1.1 : 1))),
  );
  const cellWidth = Math.ceil(Math.max(tile, widestCaption + 4));
  const cellHeight = tile + 6 + lines * LINE_HEIGHT;
  const columns = Math.max(1, options.columns ?? Math.min(8, Math.ceil(Math.sqrt(tiles.length))));
  const rows = Math.max(1, Math.ceil(tiles.length / columns));
  const header = options.subtitle ? 56 : 38;
  const gridWidth = GAP + columns * (cellWidth + GAP);
  const titleWidth = Math.max(options.title.length * 9.6, (options.subtitle?.length ?? 0) * 7) + 2 * GAP;
  const canvasWidth = Math.ceil(Math.max(gridWidth, titleWidth));
  const canvasHeight = header + rows * (cellHeight + GAP) + GAP;
  const left0 = Math.floor((canvasWidth - gridWidth) / 2) + GAP;

  const composites: sharp.OverlayOptions[] = [];
  const text: string[] = [];
  for (const [i, item] of tiles.entries()) {
    if (item.pixels.length !== height * width * channels) {
      throw new RangeError(
        `tile ${i} has ${item.pixels.length} bytes, expected ${height}x${width}x${channels} = ${height * width * channels}`,
      );
    }
    const x = left0 + (i % columns) * (cellWidth + GAP);
    const y = header + Math.floor(i / columns) * (cellHeight + GAP);
    const image = await sharp(item.pixels, { raw: { width, height, channels: channels as 1 | 3 | 4 } })
      .resize(tile, tile, {
        fit: 'contain',
        kernel: factor > 0 ? 'nearest' : 'lanczos3',
        background: '#ffffff',
      })
      .png()
      .toBuffer();
    composites.push({ input: image, left: Math.round(x + (cellWidth - tile) / 2), top: y });
    text.push(
      `<rect x="${x + (cellWidth - tile) / 2 - 0.5}" y="${y - 0.5}" width="${tile + 1}" height="${tile + 1}" fill="none" stroke="#bbbbbb"/>`,
    );
    for (const [l, line] of item.caption.entries()) {
      text.push(
        `<text x="${x + cellWidth / 2}" y="${y + tile + 4 + (l + 1) * LINE_HEIGHT - 3}" text-anchor="middle" fill="${escapeXml(line.color ?? '#333333')}"${line.bold ? ' font-weight="bold"' : ''}>${escapeXml(line.text)}</text>`,
      );
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${canvasWidth}" height="${canvasHeight}" font-family="${CHART_FONT}" font-size="${CAPTION_SIZE}">
<text x="${GAP}" y="26" font-size="16" font-weight="bold" fill="#222222">${escapeXml(options.title)}</text>
${options.subtitle ? `<text x="${GAP}" y="46" font-size="12" fill="#555555">${escapeXml(options.subtitle)}</text>` : ''}
${text.join('\n')}</svg>`;
  composites.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width: canvasWidth, height: canvasHeight, channels: 3, background: '#ffffff' } })
    .composite(composites)
    .png()
    .toBuffer();
}
