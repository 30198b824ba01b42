/**
 * The demo page (GET /) in headless Chromium: pick a real PNG, see the bars with the right label first; draw on the
 * canvas, see a prediction. Screenshots are kept under .cache/test-output/serve-page/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { createStorage } from '@tfmlops/core';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/serve/server-process.ts';
import { buildTestApp, type TestApp } from '../support/serve/test-app.ts';
import {
  halfImage,
  publishTinyBundle,
  trainTinyModel,
  useWasmBackend,
} from '../support/serve/tiny-bundle.ts';

const OUTPUT_DIR = join(ROOT, '.cache', 'test-output', 'serve-page');
/** A loaded machine can take seconds per answer; expect.poll's default (1 s) is too short. */
const POLL = { timeout: 20_000 };
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function findChromium(): string | undefined {
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const executablePath = findChromium();
if (!executablePath) {
  process.stdout.write(
    'serve-page: skipped: Debian chromium is not installed (apt-get update && apt-get install -y chromium)\n',
  );
}

const storage = createStorage();
let dir: string;
let trained: tfl.LayersModel;
let service: TestApp;
let browser: Browser;
let baseUrl: string;

describe.skipIf(!executablePath)('the page in headless Chromium', () => {
  beforeAll(async () => {
    await useWasmBackend();
    dir = mkdtempSync(join(tmpdir(), 'serve-page-'));
    mkdirSync(OUTPUT_DIR, { recursive: true });
    trained = await trainTinyModel();
    const published = await publishTinyBundle(join(dir, 'staging'), join(dir, 'models'), trained, storage);
    service = await buildTestApp({ modelUri: published.latestUri! }, storage);
    baseUrl = await service.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await chromium.launch({ executablePath, args: CHROMIUM_FLAGS });
  });

  afterAll(async () => {
    await browser?.close();
    await service?.app.close();
    trained?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an uploaded PNG shows top-k bars with the right label first, and the model name and version', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(baseUrl);
    await expect.poll(() => page.textContent('#model'), POLL).toContain('Model tiny');
    const version = (await service.app.inject({ method: 'GET', url: '/model' })).json().version as string;
    expect(await page.textContent('#model')).toContain(version);

    await page.setInputFiles('#file', {
      name: 'bright-bottom.png',
      mimeType: 'image/png',
      buffer: await halfImage('bottom', { size: 64, variant: 5 }),
    });
    await page.waitForSelector('#results li');
    const rows = await page.$$eval('#results li', (items) =>
      items.map((item) => ({
        label: item.getAttribute('data-label'),
        value: item.querySelector('.value')?.textContent,
        style: item.querySelector('.bar')?.getAttribute('style'),
      })),
    );
    expect(rows.map((row) => row.label)).toEqual(['bottom', 'top']);
    expect(Number.parseFloat(rows[0]!.value!)).toBeGreaterThan(90);
    await expect
      .poll(async () => page.$eval('#results li .bar', (bar) => bar.getBoundingClientRect().width), POLL)
      .toBeGreaterThan(100);
    expect(await page.textContent('#status')).toContain(version);
    expect(await page.isVisible('#preview')).toBe(true);
    await page.screenshot({ path: join(OUTPUT_DIR, 'upload.png'), fullPage: true });
    process.stdout.write(`serve-page: screenshot ${join(OUTPUT_DIR, 'upload.png')}\n`);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a drawing on the canvas is classified when the pen lifts', async () => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 720 } });
    await page.goto(baseUrl);
    await expect.poll(() => page.textContent('#model'), POLL).toContain('Model tiny');
    let answered = 0;
    page.on('requestfinished', (request) => {
      if (request.url().includes('/predict')) answered += 1;
    });
    const box = (await page.locator('#canvas').boundingBox())!;
    // Fill the top half with strokes: the tiny model's "top" class. Each lifted pen sends the drawing.
    let strokes = 0;
    for (let y = 10; y < 135; y += 14) {
      strokes += 1;
      await page.mouse.move(box.x + 5, box.y + y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width - 5, box.y + y, { steps: 6 });
      await page.mouse.up();
    }
    await expect
      .poll(() => page.$$eval('#results li', (items) => items[0]?.getAttribute('data-label')), POLL)
      .toBe('top');
    expect(await page.isVisible('#error')).toBe(false);
    await expect.poll(() => answered, POLL).toBe(strokes);
    await expect.poll(() => page.textContent('#status'), POLL).toContain('ms in the service');
    // The bars grow with a short transition; let it finish for the screenshot.
    await expect
      .poll(async () => page.$eval('#results li .bar', (bar) => bar.getBoundingClientRect().width), POLL)
      .toBeGreaterThan(250);
    await page.screenshot({ path: join(OUTPUT_DIR, 'drawing.png'), fullPage: true });
    await page.close();
  });

  it('a file the service refuses shows its message instead of bars', async () => {
    const page = await browser.newPage();
    await page.goto(baseUrl);
    await page.setInputFiles('#file', {
      name: 'notes.png',
      mimeType: 'image/png',
      buffer: Buffer.from('not a png'),
    });
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toContain('not a readable image');
    expect(await page.$$('#results li')).toHaveLength(0);
    await page.screenshot({ path: join(OUTPUT_DIR, 'error.png') });
    await page.close();
  });

  it('GET /docs renders Swagger UI from /docs/json under its CSP', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${baseUrl}/docs`);
    await page.waitForSelector('.swagger-ui .info .title', POLL);
    expect(await page.textContent('.swagger-ui .info .title')).toContain('tfjs-mlops inference service');
    await page.waitForSelector('.opblock-summary-path[data-path="/predict"]', POLL);
    await page.screenshot({ path: join(OUTPUT_DIR, 'docs.png') });
    expect(problems).toEqual([]);
    await page.close();
  });
});
