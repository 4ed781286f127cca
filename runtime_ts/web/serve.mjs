#!/usr/bin/env node
/**
 * The browser demo's static server (node:http only, no dependencies): the page and the package's
 * compiled code from runtime_ts/ (web/, dist/, src/ for the source maps, and onnxruntime-web's
 * browser build in node_modules/onnxruntime-web/dist/), and one bundle directory under /bundle/.
 *
 *   node web/serve.mjs --bundle ../build/demo-bundle [--port 8080] [--quiet]
 *   npm run demo -- --bundle ../build/demo-bundle
 *
 * It binds 127.0.0.1 (a free port unless --port): a secure context, which WebCrypto and the Cache
 * API need. Every response says `Cache-Control: no-cache` with an ETag, so the browser revalidates
 * everything it keeps in its HTTP cache (a 304 costs no body bytes) and only the page's Cache API
 * copy of the bundle saves the request itself: the request log shows which files were asked for.
 * Responses are gzip-compressed (`Content-Encoding: gzip`) when the client accepts it, so the
 * logged byte counts are what a gzip-serving host transfers. Cross-origin isolation headers
 * (COOP/COEP) let onnxruntime-web use its multi-threaded WASM where the browser allows it.
 *
 * As a module: `startServer({ bundle })` for tests and benchmarks, with the request log.
 */
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';

const gzip = promisify(gzipCallback);

/** runtime_ts/ */
export const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** What is served from the package, by URL prefix (everything else there is not). */
const PUBLIC = ['web/', 'dist/', 'src/', 'node_modules/onnxruntime-web/dist/'];

export const MIME_TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
  '.onnx': 'application/octet-stream',
  '.tflite': 'application/octet-stream',
  '.bin': 'application/octet-stream',
};
/** Types not worth compressing. */
const COMPRESSED = new Set(['image/png', 'image/x-icon']);

/** Files without an extension (NOTICE, LICENSE) are text. */
export function mimeType(path) {
  const ext = extname(path).toLowerCase();
  if (ext === '') return 'text/plain; charset=utf-8';
  return MIME_TYPES[ext] ?? 'application/octet-stream';
}

/**
 * Starts the server. `bundle`: the bundle directory served under /bundle/. Resolves to
 * `{ url, port, bundle, requests, close }`: `url` is the page's address, `requests` the log (one
 * `{ method, path, status, bytes, size, encoding }` per response: `bytes` sent in the body, `size`
 * the file's uncompressed size), which the caller may empty (`requests.length = 0`).
 */
export async function startServer({ bundle, port = 0, host = '127.0.0.1', onRequest } = {}) {
  if (!bundle) throw new Error('startServer: no bundle directory given');
  const bundleDir = resolve(bundle);
  const requests = [];
  /** gzip bodies by path, size and mtime (a rebuilt bundle file is compressed again). */
  const gzipped = new Map();

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      if (!res.headersSent) send(res, req, 500, `internal error: ${e?.message ?? e}\n`);
      else res.destroy();
    });
  });

  function log(req, status, bytes, size, encoding) {
    const entry = { method: req.method, path: (req.url ?? '').split('?')[0], status, bytes, size, encoding };
    requests.push(entry);
    onRequest?.(entry);
  }

  function send(res, req, status, text, headers = {}) {
    const body = Buffer.from(text);
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length, ...headers });
    res.end(req.method === 'HEAD' ? undefined : body);
    log(req, status, req.method === 'HEAD' ? 0 : body.length, body.length, 'identity');
  }

  async function handle(req, res) {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, req, 405, 'GET or HEAD only\n', { Allow: 'GET, HEAD' });
    let path;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return send(res, req, 400, 'bad URL\n');
    }
    if (path === '/' || path === '/web') return send(res, req, 302, 'see /web/\n', { Location: '/web/' });
    if (path.includes('\0')) return send(res, req, 400, 'bad URL\n');
    let file;
    if (path.startsWith('/bundle/')) {
      file = inside(bundleDir, path.slice('/bundle/'.length));
    } else {
      const rel = path.slice(1);
      file = inside(PACKAGE_ROOT, rel.endsWith('/') ? `${rel}index.html` : rel);
      // checked on the resolved path: an encoded `..%2F` must not lead out of the public folders
      const under = file === undefined ? '' : relative(PACKAGE_ROOT, file).split(sep).join('/');
      if (!PUBLIC.some((prefix) => under.startsWith(prefix))) file = undefined;
    }
    if (file === undefined) return send(res, req, 404, 'not found\n');
    let info;
    try {
      info = await stat(file);
    } catch {
      return send(res, req, 404, 'not found\n');
    }
    if (!info.isFile()) return send(res, req, 404, 'not found\n');

    const type = mimeType(file);
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    const headers = {
      'Content-Type': type,
      'Cache-Control': 'no-cache',
      ETag: etag,
      Vary: 'Accept-Encoding',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'X-Content-Type-Options': 'nosniff',
    };
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304, headers);
      res.end();
      return log(req, 304, 0, info.size, 'identity');
    }
    let body = await readFile(file);
    let encoding = 'identity';
    if (acceptsGzip(req.headers['accept-encoding']) && !COMPRESSED.has(type) && body.length > 1024) {
      const key = `${file}\0${info.size}\0${info.mtimeMs}`;
      let zipped = gzipped.get(key);
      if (zipped === undefined) {
        zipped = gzip(body, { level: 6 });
        gzipped.set(key, zipped);
      }
      body = await zipped;
      encoding = 'gzip';
      headers['Content-Encoding'] = 'gzip';
    }
    headers['Content-Length'] = body.length;
    res.writeHead(200, headers);
    res.end(req.method === 'HEAD' ? undefined : body);
    log(req, 200, req.method === 'HEAD' ? 0 : body.length, info.size, encoding);
  }

  await new Promise((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolveListen();
    });
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}/web/`,
    origin: `http://${host}:${actual}`,
    port: actual,
    bundle: bundleDir,
    requests,
    close: () => new Promise((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}

/** `rel` under `root`, or undefined when it would leave it. */
function inside(root, rel) {
  const file = resolve(root, rel);
  const back = relative(root, file);
  if (back === '' || back.startsWith(`..${sep}`) || back === '..' || isAbsolute(back)) return undefined;
  return file;
}

/** Whether an Accept-Encoding header allows gzip (and does not say `gzip;q=0`). */
function acceptsGzip(header) {
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding.trim() !== 'gzip' && coding.trim() !== '*') return false;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

function parseArgs(argv) {
  const args = { bundle: process.env.MBJA_BUNDLE, port: 0, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--bundle' || arg.startsWith('--bundle=')) args.bundle = value();
    else if (arg === '--port' || arg.startsWith('--port=')) args.port = Number(value());
    else if (arg === '--quiet') args.quiet = true;
    else if (arg === '--help' || arg === '-h') args.help = true;
    else throw new Error(`unknown argument ${arg}`);
  }
  return args;
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`serve.mjs: ${e.message}`);
    process.exit(2);
  }
  if (args.help) {
    console.log('usage: node web/serve.mjs --bundle DIR [--port N] [--quiet]   (DIR defaults to $MBJA_BUNDLE, ' +
      'else ../build/demo-bundle)');
    return;
  }
  const bundle = resolve(args.bundle ?? resolve(PACKAGE_ROOT, '..', 'build', 'demo-bundle'));
  try {
    await stat(resolve(bundle, 'manifest.json'));
  } catch {
    console.error(`serve.mjs: no bundle at ${bundle} (no manifest.json); build one: mbja-build --target onnx --out DIR`);
    process.exit(2);
  }
  try {
    await stat(resolve(PACKAGE_ROOT, 'dist', 'web', 'demo.js'));
  } catch {
    console.error('serve.mjs: dist/web/demo.js is missing: run npm run build (npm run demo does) first');
    process.exit(2);
  }
  const server = await startServer({
    bundle,
    port: args.port,
    onRequest: args.quiet ? undefined : (r) => console.log(`${r.method} ${r.path} ${r.status} ${r.bytes} B${r.encoding === 'gzip' ? ' gzip' : ''}`),
  });
  console.log(`mobilebert-ja demo: ${server.url}  (bundle ${server.bundle}; Ctrl+C stops)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
