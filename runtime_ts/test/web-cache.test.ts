/**
 * The demo's static server (web/serve.mjs) and the URL source's `cache` option, in Node (no browser):
 * MIME types, gzip when accepted, 304 revalidation, nothing served outside the public folders; a
 * cached bundle opens with only its manifest fetched, a changed file alone is downloaded again and
 * its old copy dropped, a corrupt cached copy is replaced from the network, and a failing cache
 * costs nothing but the download. The Cache API is not in Node: MemoryCache stands in with its
 * semantics (keys are URLs, `ignoreSearch` matches any query).
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { bundleDir } from './support.js';
import { Bundle } from '../src/bundle/bundle.js';
import { type BundleCache, BundleError, MobileBertJa } from '../src/index.js';

type ServeModule = typeof import('../web/serve.mjs');
const { startServer, PACKAGE_ROOT } = await import(new URL('../../web/serve.mjs', import.meta.url).href) as ServeModule;

const root = await mkdtemp(join(tmpdir(), 'mbja-web-cache-test-'));
const dir = join(root, 'bundle');
await cp(bundleDir(), dir, { recursive: true });
const server = await startServer({ bundle: dir });
const base = `${server.origin}/bundle/`;
after(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** A GET with exactly these headers (fetch would add Accept-Encoding and decompress). */
function get(path: string, headers: Record<string, string> = {}, method = 'GET'):
Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${server.origin}${path}`, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The Cache API's semantics the runtime relies on, in memory; counts its calls. */
class MemoryCache implements BundleCache {
  readonly entries = new Map<string, Uint8Array>();
  failing = false;

  private check(): void {
    if (this.failing) throw new Error('QuotaExceededError (simulated)');
  }

  async match(url: string): Promise<Response | undefined> {
    this.check();
    const bytes = this.entries.get(url);
    return bytes === undefined ? undefined : new Response(bytes as Uint8Array<ArrayBuffer>);
  }

  async put(url: string, response: Response): Promise<void> {
    this.check();
    this.entries.set(url, new Uint8Array(await response.arrayBuffer()));
  }

  async keys(url: string, options: { ignoreSearch: boolean }): Promise<ReadonlyArray<Request>> {
    this.check();
    const strip = (u: string) => (options.ignoreSearch ? u.split('?')[0] : u);
    return [...this.entries.keys()].filter((k) => strip(k) === strip(url)).map((k) => new Request(k));
  }

  async delete(url: string): Promise<boolean> {
    this.check();
    return this.entries.delete(url);
  }
}

async function editFile(name: string, content: string): Promise<void> {
  const bytes = new TextEncoder().encode(content);
  await writeFile(join(dir, name), bytes);
  const manifestPath = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  const digest = Buffer.from(await crypto.subtle.digest('SHA-256', bytes)).toString('hex');
  manifest.files[name] = { sha256: digest, size: bytes.length };
  await writeFile(manifestPath, JSON.stringify(manifest, null, 2));
}

/** The bundle paths the server was asked for since the last call. */
function bundleRequests(): string[] {
  const paths = server.requests.filter((r) => r.path.startsWith('/bundle/')).map((r) => r.path.slice('/bundle/'.length));
  server.requests.length = 0;
  return paths.sort();
}

test('serve.mjs: MIME types, gzip when accepted, 304 revalidation, isolation headers', async () => {
  const wasm = await get('/node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm', { 'Accept-Encoding': 'gzip, br' });
  assert.equal(wasm.status, 200);
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  assert.equal(wasm.headers['content-encoding'], 'gzip');
  const raw = await readFile(join(PACKAGE_ROOT, 'node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.wasm'));
  assert.ok(gunzipSync(wasm.body).equals(raw), 'the gzip body is not the file');
  assert.ok(wasm.body.length < raw.length);
  const logged = server.requests.at(-1)!;
  assert.deepEqual([logged.status, logged.bytes, logged.size, logged.encoding], [200, wasm.body.length, raw.length, 'gzip']);

  const mjs = await get('/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs');
  assert.equal(mjs.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(mjs.headers['content-encoding'], undefined, 'gzip without Accept-Encoding');
  assert.equal((await get('/dist/src/index.js')).headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await get('/web/')).headers['content-type'], 'text/html; charset=utf-8');
  assert.equal((await get('/web/demo.css')).headers['content-type'], 'text/css; charset=utf-8');
  assert.equal((await get('/bundle/manifest.json')).headers['content-type'], 'application/json; charset=utf-8');
  assert.equal((await get('/bundle/model.onnx', { 'Accept-Encoding': 'identity' })).headers['content-encoding'], undefined);
  assert.equal((await get('/bundle/model.onnx', { 'Accept-Encoding': 'gzip;q=0' })).headers['content-encoding'], undefined);

  const first = await get('/bundle/vocab.txt');
  assert.equal(first.headers['cache-control'], 'no-cache');
  assert.equal(first.headers['cross-origin-embedder-policy'], 'require-corp');
  assert.equal(first.headers['cross-origin-opener-policy'], 'same-origin');
  const again = await get('/bundle/vocab.txt', { 'If-None-Match': String(first.headers.etag) });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);
  assert.equal(server.requests.at(-1)!.bytes, 0);
  server.requests.length = 0;
});

test('serve.mjs: nothing outside web/, dist/, src/, onnxruntime-web\'s dist/ and the bundle', async () => {
  for (const path of ['/package.json', '/node_modules/typescript/package.json', '/dist/..%2Fpackage.json',
    '/bundle/..%2F..%2Fetc%2Fpasswd', '/bundle/%2e%2e/%2e%2e/package.json', '/web/..%2F..%2F.gitignore', '/bundle/',
    '/test/api.test.ts', '/bundle/dictionary']) {
    assert.equal((await get(path)).status, 404, path);
  }
  assert.equal((await get('/web/%E0%A4%A')).status, 400);
  assert.equal((await get('/web/', {}, 'POST')).status, 405);
  const home = await get('/');
  assert.equal(home.status, 302);
  assert.equal(home.headers.location, '/web/');
  server.requests.length = 0;
});

test('cache option: a second open fetches only the manifest; a changed file alone is downloaded again', async () => {
  const cache = new MemoryCache();
  const names = Object.keys((await Bundle.open(dir, { verify: false })).manifest.files).sort();
  server.requests.length = 0;

  const first = await Bundle.open(base, { cache });
  assert.deepEqual(bundleRequests(), ['manifest.json', ...names].sort());
  assert.equal(cache.entries.size, names.length);
  for (const key of cache.entries.keys()) assert.match(key, /^http:\/\/127\.0\.0\.1:\d+\/bundle\/.+\?sha256=[0-9a-f]{64}$/);

  const second = await Bundle.open(base, { cache });
  assert.deepEqual(bundleRequests(), ['manifest.json']);
  for (const name of names) assert.deepEqual(second.file(name), first.file(name), name);

  await editFile('NOTICE', 'a rebuilt bundle\n');
  const third = await Bundle.open(base, { cache });
  assert.deepEqual(bundleRequests(), ['NOTICE', 'manifest.json']);
  assert.equal(new TextDecoder().decode(third.file('NOTICE')), 'a rebuilt bundle\n');
  assert.equal(cache.entries.size, names.length, 'the old NOTICE is still cached');
  await Bundle.open(base, { cache });
  assert.deepEqual(bundleRequests(), ['manifest.json']);
});

test('cache option: a corrupt cached copy is downloaded again; a failing cache costs only the download', async () => {
  const cache = new MemoryCache();
  await Bundle.open(base, { cache });
  bundleRequests();
  const key = [...cache.entries.keys()].find((k) => k.includes('/vocab.txt?'))!;
  const bad = cache.entries.get(key)!.slice();
  bad[10] ^= 1;
  cache.entries.set(key, bad);
  const b = await Bundle.open(base, { cache });
  assert.deepEqual(bundleRequests(), ['manifest.json', 'vocab.txt']);
  assert.notDeepEqual(cache.entries.get(key), bad, 'the corrupt copy was kept');
  assert.equal(b.file('vocab.txt')[10], bad[10] ^ 1);

  cache.failing = true;
  await Bundle.open(base, { cache });
  assert.equal(bundleRequests().length, Object.keys(b.manifest.files).length + 1);

  // a file the server serves corrupt is refused, and never cached
  const fresh = new MemoryCache();
  await writeFile(join(dir, 'labels.json'), (await readFile(join(dir, 'labels.json'), 'utf8')).replace('"O"', '"X"'));
  await assert.rejects(Bundle.open(base, { cache: fresh }), (e: unknown) => e instanceof BundleError && e.file === 'labels.json' &&
    /does not match its sha256/.test(e.message));
  assert.ok(![...fresh.entries.keys()].some((k) => k.includes('/labels.json?')), 'a file that failed its check was cached');
  await writeFile(join(dir, 'labels.json'), (await readFile(join(dir, 'labels.json'), 'utf8')).replace('"X"', '"O"'));
});

test('cache option: MobileBertJa.open passes it on; directories ignore it', async () => {
  const cache = new MemoryCache();
  const m = await MobileBertJa.open(base, { cache, verify: false });
  try {
    assert.ok(cache.entries.size > 0);
    assert.ok((await m.ner('東京都に住んでいる山田太郎。')).length > 0);
  } finally {
    await m.dispose();
  }
  const local = new MemoryCache();
  assert.equal((await Bundle.open(dir, { cache: local })).task, 'token-classification');
  assert.equal(local.entries.size, 0);
});
