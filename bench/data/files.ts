import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** The JPEGs of a generated image folder (bench/data/generate.ts), class by class, in a stable order. */
export async function listImages(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const cls of (await readdir(dir)).filter((name) => name.startsWith('class-')).sort()) {
    for (const file of (await readdir(join(dir, cls))).sort()) files.push(join(dir, cls, file));
  }
  return files;
}
