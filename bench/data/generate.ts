import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';

/** An image folder of `count` JPEGs, `size` x `size`, in 10 class folders; made once and reused. */
export async function ensureImageFolder(root: string, count: number, size: number): Promise<string> {
  const dir = join(root, `imagefolder-${count}-${size}`);
  const marker = join(dir, '.complete');
  if (existsSync(marker) && (await readFile(marker, 'utf8')).trim() === String(count)) return dir;
  await rm(dir, { recursive: true, force: true });
  process.stderr.write(`generating ${count} ${size}x${size} JPEGs in ${dir} (once)...\n`);
  const classes = 10;
  for (let k = 0; k < classes; k += 1) await mkdir(join(dir, `class-${k}`), { recursive: true });
  const pixels = new Uint8Array(size * size * 3);
  for (let i = 0; i < count; i += 1) {
    const k = i % classes;
    fillPhotoLike(pixels, size, i, k);
    const jpeg = await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    await writeFile(join(dir, `class-${k}`, `${String(i).padStart(6, '0')}.jpg`), jpeg);
  }
  await writeFile(marker, String(count));
  return dir;
}

/**
 * Smooth gradients, a few shapes and mild noise: compresses and decodes like a photo (pure noise would make JPEG
 * decoding unrealistically slow, flat colour unrealistically fast).
 */
function fillPhotoLike(pixels: Uint8Array, size: number, seed: number, label: number): void {
  let state = (seed * 2654435761) >>> 0;
  const random = () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 4294967296;
  };
  const base = [random() * 255, random() * 255, (label * 25) % 255];
  const cx = random() * size;
  const cy = random() * size;
  const radius = size * (0.15 + random() * 0.25);
  const frequency = 0.02 + random() * 0.08;
  for (let y = 0; y < size; y += 1) {
    for (let x = 0; x < size; x += 1) {
      const inside = (x - cx) ** 2 + (y - cy) ** 2 < radius * radius;
      const wave = 40 * Math.sin((x + y * 0.5) * frequency);
      const offset = (y * size + x) * 3;
      for (let c = 0; c < 3; c += 1) {
        const value =
          (base[c] as number) * (1 - y / (2 * size)) +
          wave +
          (inside ? 60 - c * 40 : 0) +
          (random() - 0.5) * 16;
        pixels[offset + c] = Math.max(0, Math.min(255, value));
      }
    }
  }
}
