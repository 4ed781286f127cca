/**
 * The browser demo (web/) in headless Chromium, against the Node runtime on the same bundle: the
 * test starts web/serve.mjs on the demo bundle, types sample sentences from the shared vectors into
 * the page, reads the highlighted entities from the DOM (`mark.entity` data attributes) and requires
 * them to equal `m.ner(text)` of onnxruntime-node, computed here: type, text and UTF-16 span
 * exactly, score within 1e-4. Bad input (empty, too long, a lone surrogate) must show a message,
 * never hang. A reload (a second visit, same profile) must fetch no bundle file but the manifest,
 * per the server's request log. It leaves a screenshot in test-artifacts/browser-demo.png.
 *
 * Chromium: `$CHROMIUM`, else Debian's /usr/bin/chromium; without one the test is skipped, saying so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { bundleDir, readJson } from './support.js';
import { type Entity, MobileBertJa } from '../src/index.js';
import type { DemoResult } from '../web/demo.js';

type ServeModule = typeof import('../web/serve.mjs');
const { startServer, PACKAGE_ROOT } = await import(new URL('../../web/serve.mjs', import.meta.url).href) as ServeModule;

const SCORE_TOLERANCE = 1e-4;
const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SCREENSHOT = join(PACKAGE_ROOT, 'test-artifacts', 'browser-demo.png');

/** Sample sentences with entities from the model vectors, and one with astral characters (UTF-16 offsets). */
function sentences(): { typed: string[]; long: string } {
  const cases = (readJson('model_token_classification.json.gz').cases as Array<Record<string, any>>);
  const typed = cases.filter((c) => c.kind === 'sample' && c.text.length <= 60 && c.results.simple.length >= 2)
    .slice(0, 4).map((c) => c.text as string);
  const astral = cases.find((c) => c.kind === 'odd' && /\p{Extended_Pictographic}/u.test(c.text) && c.results.simple.length > 0);
  assert.ok(typed.length === 4 && astral, 'the model vectors lack the sample sentences this test types');
  const long = cases.filter((c) => c.kind === 'long').at(-1)!.text as string;
  return { typed: [...typed, astral.text], long };
}

function assertSame(got: Entity[], want: Entity[], what: string): void {
  assert.deepEqual(got.map((e) => [e.type, e.text, e.start, e.end]), want.map((e) => [e.type, e.text, e.start, e.end]), what);
  want.forEach((w, i) => assert.ok(Math.abs(w.score - got[i].score) <= SCORE_TOLERANCE,
    `${what}: score of '${w.text}' ${got[i].score} in the browser, ${w.score} in Node`));
}

/** The entities the page shows, read back from its marks. */
function shownEntities(page: Page): Promise<Entity[]> {
  return page.$$eval('#output mark.entity', (marks) => marks.map((m) => ({
    type: m.dataset.type ?? '',
    text: m.textContent ?? '',
    start: Number(m.dataset.start),
    end: Number(m.dataset.end),
    score: Number(m.dataset.score),
  })));
}

/** Waits until the page has shown its analysis of exactly `text`, and returns it. */
async function resultFor(page: Page, text: string): Promise<DemoResult> {
  await page.waitForFunction((t) => window.__mbja.lastResult?.text === t &&
    document.getElementById('output')?.dataset.state === 'idle', { timeout: 30_000 }, text);
  return page.evaluate(() => window.__mbja.lastResult!);
}

async function waitReady(page: Page): Promise<void> {
  await page.waitForFunction(() => window.__mbja !== undefined &&
    ((window.__mbja.state === 'ready' && window.__mbja.lastResult !== null) || window.__mbja.state === 'error'),
  { timeout: 60_000 });
  const state = await page.evaluate(() => [window.__mbja.state, window.__mbja.error]);
  assert.equal(state[0], 'ready', `the page did not load the bundle: ${state[1]}`);
}

/** Replaces the box's text by typing it, as a user does (every key an input event, debounced). */
async function typeText(page: Page, text: string): Promise<void> {
  await page.$eval('#text', (el) => { (el as HTMLTextAreaElement).value = ''; });
  await page.type('#text', text);
}

test('browser demo: typed text is highlighted as the Node runtime finds it; a second visit downloads no bundle file',
  { timeout: 150_000 }, async (t) => {
    if (CHROMIUM === undefined || !existsSync(CHROMIUM)) {
      t.skip(`no Chromium at ${CHROMIUM ?? '/usr/bin/chromium'}: install Debian chromium (apt-get install chromium) or set CHROMIUM`);
      return;
    }
    const dir = bundleDir();
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { files: Record<string, unknown> };
    const { typed, long } = sentences();
    const node = await MobileBertJa.open(dir, { backend: 'onnxruntime-node' });
    const server = await startServer({ bundle: dir });
    const profile = await mkdtemp(join(tmpdir(), 'mbja-chromium-'));
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: profile,
      args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage'],
    });
    const pageErrors: string[] = [];
    try {
      const page = await browser.newPage();
      page.on('pageerror', (e) => pageErrors.push(String((e as Error).message ?? e)));
      page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
      await page.setViewport({ width: 900, height: 760 });
      await page.goto(server.url);
      await waitReady(page);

      await t.test('first visit: every bundle file downloaded once, gzip, and stored', async () => {
        const load = await page.evaluate(() => window.__mbja.load!);
        assert.equal(load.kind, 'first');
        const engine = await page.evaluate(() => window.__mbja.engine!);
        assert.equal(engine.backend, 'onnxruntime-web');
        const fetched = server.requests.filter((r) => r.path.startsWith('/bundle/'));
        assert.deepEqual(fetched.map((r) => r.path.slice('/bundle/'.length)).sort(),
          ['manifest.json', ...Object.keys(manifest.files)].sort());
        const model = fetched.find((r) => r.path === '/bundle/model.onnx')!;
        assert.equal(model.encoding, 'gzip');
        assert.ok(model.bytes > 0 && model.bytes < model.size, `model.onnx: ${model.bytes} bytes sent for ${model.size}`);
      });

      await t.test('typed sentences: the entities shown equal the Node runtime\'s', async () => {
        let entities = 0;
        for (const text of typed) {
          await typeText(page, text);
          const result = await resultFor(page, text);
          assert.equal(result.error, null, `the page failed on '${text}'`);
          const want = await node.ner(text);
          entities += want.length;
          assertSame(await shownEntities(page), want, `page vs Node for '${text}'`);
          assertSame(result.entities!, want, `window.__mbja.lastResult vs Node for '${text}'`);
          for (const e of result.entities!) assert.equal(text.slice(e.start, e.end), e.text);
        }
        assert.ok(entities >= 8, `only ${entities} entities in the sample sentences: nothing much was compared`);
      });

      await t.test('a text longer than the model\'s window: the same entities (windowed, not cut)', async () => {
        const result = await page.evaluate((text) => window.__mbja.analyse(text), long);
        assert.equal(result.error, null);
        assert.ok(result.tokens! > 512, `${result.tokens} tokens: not longer than the model's window`);
        assertSame(result.entities!, await node.ner(long), 'page vs Node for the long text');
        assertSame(await shownEntities(page), result.entities!, 'the marks of the long text');
      });

      await t.test('bad input shows a result or a message, and the page keeps working', async () => {
        await page.focus('#text');
        await page.keyboard.down('Control');
        await page.keyboard.press('A');
        await page.keyboard.up('Control');
        await page.keyboard.press('Backspace');
        const empty = await resultFor(page, '');
        assert.deepEqual(empty.entities, []);
        assert.equal(empty.error, null);
        assert.match(await page.$eval('#output', (el) => el.textContent ?? ''), /Type some Japanese text/);

        const huge = '東京都の山田太郎。'.repeat(3000);
        const started = Date.now();
        await page.$eval('#text', (el, text) => {
          (el as HTMLTextAreaElement).value = text;
          el.dispatchEvent(new Event('input', { bubbles: true }));
        }, huge);
        const tooLong = await resultFor(page, huge);
        assert.ok(Date.now() - started < 10_000, 'a too long text took more than 10 s to answer');
        assert.equal(tooLong.entities, null);
        assert.match(tooLong.error!, /27,000 characters; this demo analyses up to 10,000/);
        assert.equal(await page.$eval('#error', (el) => (el as HTMLElement).hidden), false);
        assert.match(await page.$eval('#error', (el) => el.textContent ?? ''), /27,000 characters/);

        const surrogate = await page.evaluate(() => window.__mbja.analyse(`東京${String.fromCharCode(0xd800)}都`));
        assert.match(surrogate.error!, /^TokenizerError: /);
        assert.equal(await page.$eval('#error', (el) => (el as HTMLElement).hidden), false);

        await typeText(page, typed[0]);
        assertSame((await resultFor(page, typed[0])).entities!, await node.ner(typed[0]), 'after bad input');
        assert.equal(await page.$eval('#error', (el) => (el as HTMLElement).hidden), true);
      });

      await t.test('second visit (reload, same profile): no bundle file downloaded, only the manifest revalidated', async () => {
        server.requests.length = 0;
        await page.reload();
        await waitReady(page);
        const load = await page.evaluate(() => window.__mbja.load!);
        const fetched = server.requests.filter((r) => r.path.startsWith('/bundle/'));
        assert.deepEqual(fetched.map((r) => r.path), ['/bundle/manifest.json'],
          `bundle requests on the second visit: ${fetched.map((r) => `${r.path} ${r.status}`).join(', ')}`);
        assert.equal(load.kind, 'cached');
        assert.equal(load.cacheHits, Object.keys(manifest.files).length);
        assert.equal(load.cacheMisses, 0);
        const text = typed.at(-1)!;
        await typeText(page, text);
        assertSame((await resultFor(page, text)).entities!, await node.ner(text), 'cached model vs Node');
      });

      await t.test('screenshot of highlighted entities', async () => {
        const text = typed.reduce((a, b) => (a.length >= b.length ? a : b));
        await typeText(page, text);
        const result = await resultFor(page, text);
        assert.ok(result.entities!.length > 0);
        await page.waitForFunction(() => document.querySelectorAll('#output mark.entity').length > 0);
        await mkdir(join(PACKAGE_ROOT, 'test-artifacts'), { recursive: true });
        await page.screenshot({ path: SCREENSHOT as `${string}.png`, fullPage: true });
        assert.ok(existsSync(SCREENSHOT));
      });

      assert.deepEqual(pageErrors, [], 'the page logged errors');
    } finally {
      await browser.close();
      await server.close();
      await node.dispose();
      await rm(profile, { recursive: true, force: true });
    }
  });
