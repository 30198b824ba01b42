import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { renderImageGrid } from './image-grid.ts';
import { renderChartPng, renderChartSvg } from './render-chart.ts';

const bars = {
  width: 200,
  height: 100,
  data: {
    values: [
      { name: 'a', n: 1 },
      { name: 'b', n: 3 },
    ],
  },
  mark: 'bar',
  encoding: { x: { field: 'name', type: 'nominal' }, y: { field: 'n', type: 'quantitative' } },
} as const;

describe('renderChartPng', () => {
  it('renders a Vega-Lite spec headlessly to a PNG at twice its size, in the house font', async () => {
    const svg = await renderChartSvg(bars);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('DejaVu Sans');
    const png = await renderChartPng(bars);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    // 200x100 plot plus axes and padding, doubled.
    expect(meta.width).toBeGreaterThan(400);
    expect(meta.height).toBeGreaterThan(200);
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // The default bar colour (#4c78a8) is drawn somewhere: the bars really rendered.
    let blue = 0;
    for (let i = 0; i < data.length; i += info.channels) {
      if (
        Math.abs(data[i]! - 0x4c) < 8 &&
        Math.abs(data[i + 1]! - 0x78) < 8 &&
        Math.abs(data[i + 2]! - 0xa8) < 8
      )
        blue += 1;
    }
    expect(blue).toBeGreaterThan(1000);
  });

  it('reports compile warnings and never loads data from a URL', async () => {
    const warnings: string[] = [];
    await renderChartSvg(
      {
        ...bars,
        encoding: { ...bars.encoding, color: { field: 'n', type: 'nominal', scale: { type: 'log' } } },
      },
      { onWarning: (message) => warnings.push(message) },
    );
    expect(warnings.length).toBeGreaterThan(0);
    await expect(renderChartSvg({ ...bars, data: { url: 'http://127.0.0.1:9/data.json' } })).rejects.toThrow(
      /inline the data/,
    );
  });
});

describe('renderImageGrid', () => {
  it('enlarges tiles by a whole factor with nearest sampling and sizes cells for their captions', async () => {
    // A 2x2 grey image: one white pixel top-left, the rest black.
    const pixels = new Uint8Array([255, 0, 0, 0]);
    const png = await renderImageGrid({
      title: 'worst',
      tiles: [
        {
          pixels,
          caption: [
            { text: 'true 7', bold: true },
            { text: 'predicted 1 (97.0%)', color: '#c0392b' },
          ],
        },
        { pixels, caption: [{ text: 'true 2' }] },
      ],
      imageShape: [2, 2, 1],
    });
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    // 2x2 enlarged 64x to 128x128; two columns of cells at least that wide.
    expect(info.width).toBeGreaterThanOrEqual(2 * 128 + 3 * 10);
    // Find the first tile's black quadrant: a 64x64 block of exact black exists (nearest sampling, no blur).
    let blackRun = 0;
    for (let x = 0; x < info.width; x += 1) {
      const i = (100 * info.width + x) * info.channels;
      if (data[i] === 0 && data[i + 1] === 0 && data[i + 2] === 0) blackRun += 1;
    }
    expect(blackRun).toBeGreaterThanOrEqual(2 * 64 - 2);
    await expect(
      renderImageGrid({
        title: 'x',
        tiles: [{ pixels: new Uint8Array(3), caption: [] }],
        imageShape: [2, 2, 1],
      }),
    ).rejects.toThrow(/expected 2x2x1 = 4/);
  });
});
