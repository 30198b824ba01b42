/**
 * A colour image folder for experiments and tests where CIFAR-10 cannot be downloaded: 32x32 RGB images of four
 * shapes (circle, square, triangle, cross) in random colours, sizes, positions and rotations on random backgrounds,
 * saved as JPEG (compression noise included). The class is the shape, never the colour, so a network has to learn
 * spatial features. Deterministic for a seed.
 *
 *   pnpm exec tsx tests/support/make-shapes.ts data/raw/shapes 1000
 */

import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRandom } from '@tfmlops/core';
import sharp from 'sharp';

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;

function shapeSvg(shape: (typeof SHAPES)[number], next: () => number, size = 32): string {
  const hue = Math.floor(next() * 360);
  const background = `hsl(${(hue + 90 + Math.floor(next() * 180)) % 360}, ${30 + Math.floor(next() * 50)}%, ${20 + Math.floor(next() * 60)}%)`;
  const fill = `hsl(${hue}, ${50 + Math.floor(next() * 50)}%, ${35 + Math.floor(next() * 40)}%)`;
  const radius = 6 + next() * 6;
  const cx = radius + 2 + next() * (size - 2 * radius - 4);
  const cy = radius + 2 + next() * (size - 2 * radius - 4);
  const angle = Math.floor(next() * 360);
  const r = radius.toFixed(2);
  const body = {
    circle: `<circle cx="0" cy="0" r="${r}"/>`,
    square: `<rect x="${-radius}" y="${-radius}" width="${2 * radius}" height="${2 * radius}"/>`,
    triangle: `<polygon points="0,${-radius * 1.15} ${radius},${radius * 0.85} ${-radius},${radius * 0.85}"/>`,
    cross: `<path d="M${-radius},${-radius / 3}h${(2 * radius) / 3}v${(-2 * radius) / 3}h${(2 * radius) / 3}v${(2 * radius) / 3}h${(2 * radius) / 3}v${(2 * radius) / 3}h${(-2 * radius) / 3}v${(2 * radius) / 3}h${(-2 * radius) / 3}v${(-2 * radius) / 3}h${(-2 * radius) / 3}z"/>`,
  }[shape];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="${background}"/><g fill="${fill}" transform="translate(${cx.toFixed(2)} ${cy.toFixed(2)}) rotate(${angle})">${body}</g></svg>`;
}

/** Writes `<root>/<shape>/<index>.jpg`, `perClass` images per shape. */
export async function writeShapesFolder(root: string, perClass: number, seed = 1): Promise<void> {
  const next = createRandom(seed);
  for (const shape of SHAPES) {
    await mkdir(join(root, shape), { recursive: true });
    for (let i = 0; i < perClass; i += 1) {
      const jpeg = await sharp(Buffer.from(shapeSvg(shape, next)))
        .jpeg({ quality: 75 })
        .toBuffer();
      await writeFile(join(root, shape, `${String(i).padStart(5, '0')}.jpg`), jpeg);
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = 'data/raw/shapes', perClass = '1000'] = process.argv.slice(2);
  await writeShapesFolder(root, Number(perClass));
  process.stdout.write(`wrote ${SHAPES.length} x ${perClass} images to ${root}\n`);
}
