import { readFileSync } from 'node:fs';
import { configureSharpForBatches, preprocessImage } from '@tfmlops/data';
import sharp from 'sharp';

configureSharpForBatches();
const png = readFileSync('docs/digit.png');
const spec = { width: 28, height: 28, channels: 1 as const, resize: 'fit' as const, background: '#000000' };
async function time(label: string, f: () => Promise<unknown>, n = 2000) {
  for (let i = 0; i < 200; i++) await f();
  let sync = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const s = performance.now();
    const p = f();
    sync += performance.now() - s;
    await p;
  }
  const wall = performance.now() - t0;
  const c = process.cpuUsage(c0);
  console.log(
    `${label}: wall ${((wall / n) * 1000).toFixed(0)} us, sync part ${((sync / n) * 1000).toFixed(0)} us, process cpu ${((c.user + c.system) / n).toFixed(0)} us per call`,
  );
}
await time('metadata', () => sharp(png).metadata());
await time('preprocessImage', () => preprocessImage(png, spec));
await time('bare decode raw', () => sharp(png).raw().toBuffer());
await time(
  'concurrent x16 preprocess',
  () => Promise.all(Array.from({ length: 16 }, () => preprocessImage(png, spec))),
  200,
);
