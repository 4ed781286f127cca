/**
 * Opening bundles from the three sources, and refusing broken ones with a BundleError whose `file`
 * and message name the offending file: on copies of the demo bundle in a temporary directory, a
 * truncated file, a flipped byte in model.onnx, a deleted file, a newer format version, a path
 * outside the bundle; and a bundle of another task refused by the task methods.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleDir } from './support.js';
import { Bundle } from '../src/bundle/bundle.js';
import type { BundleFiles } from '../src/bundle/sources.js';
import { BundleError, MbjaError, TaskMismatchError } from '../src/errors.js';
import { MobileBertJa } from '../src/index.js';

const demo = bundleDir();
const root = await mkdtemp(join(tmpdir(), 'mbja-bundle-test-'));
after(() => rm(root, { recursive: true, force: true }));
let copies = 0;

/** A fresh copy of the demo bundle. */
async function copy(): Promise<string> {
  const dir = join(root, `b${copies++}`);
  await cp(demo, dir, { recursive: true });
  return dir;
}

async function editManifest(dir: string, change: (m: Record<string, any>) => void): Promise<void> {
  const path = join(dir, 'manifest.json');
  const manifest = JSON.parse(await readFile(path, 'utf8'));
  change(manifest);
  await writeFile(path, JSON.stringify(manifest));
}

/** Asserts that opening `dir` fails with a BundleError for `file` whose message matches `message`. */
async function refused(dir: string, file: string, message: RegExp, verify = true): Promise<void> {
  await assert.rejects(Bundle.open(dir, { verify }), (e: unknown) => {
    assert.ok(e instanceof BundleError, `not a BundleError: ${e}`);
    assert.equal(e.file, file);
    assert.ok(e.message.includes(file), e.message);
    assert.match(e.message, message);
    return true;
  });
}

test('the demo bundle opens: task, labels, files, max input length', async () => {
  const b = await Bundle.open(demo);
  assert.equal(b.task, 'token-classification');
  assert.equal(b.labels?.[0], 'O');
  assert.equal(b.labels?.length, 17);
  assert.equal(b.maxInputLength, 512);
  assert.equal(b.file('dictionary/trie.bin').byteLength, b.manifest.files['dictionary/trie.bin'].size);
  assert.equal(b.manifest.models[0].inputs?.[0].dtype, 'int64');
  assert.throws(() => b.file('nope.bin'), (e: unknown) => e instanceof BundleError && e.file === 'nope.bin');
  assert.equal((await Bundle.open(pathToFileURL(demo))).task, 'token-classification');
});

test('a truncated file is refused by its size, with or without hashing', async () => {
  const dir = await copy();
  await truncate(join(dir, 'vocab.txt'), 1000);
  await refused(dir, 'vocab.txt', /has size 1000, manifest says \d+/);
  await refused(dir, 'vocab.txt', /has size 1000/, false);
});

test('a flipped byte in model.onnx is refused by its sha256; verify: false skips only the hash', async () => {
  const dir = await copy();
  const path = join(dir, 'model.onnx');
  const bytes = await readFile(path);
  bytes[123456] ^= 1;
  await writeFile(path, bytes);
  await refused(dir, 'model.onnx', /does not match its sha256 .*tampered/);
  assert.equal((await Bundle.open(dir, { verify: false })).file('model.onnx')[123456], bytes[123456]);
});

test('a deleted file is refused as missing', async () => {
  const dir = await copy();
  await unlink(join(dir, 'dictionary', 'matrix.bin'));
  await refused(dir, 'dictionary/matrix.bin', /bundle file missing/);
  await unlink(join(dir, 'manifest.json'));
  await refused(dir, 'manifest.json', /not a bundle: .* is missing/);
});

test('a newer format version says to upgrade; other versions say to rebuild', async () => {
  const dir = await copy();
  await editManifest(dir, (m) => { m.format_version = 99; });
  await refused(dir, 'manifest.json', /format version 99 is not supported .*upgrade mobilebert-ja/);
  for (const version of [0, '1', null]) {
    await editManifest(dir, (m) => { m.format_version = version; });
    await refused(dir, 'manifest.json', /is not supported .*rebuild the bundle/);
  }
});

test('broken manifests and paths outside the bundle are refused', async () => {
  const dir = await copy();
  for (const bad of ['../model.onnx', '/etc/passwd', 'a/../../b', 'C:\\x', 'a//b', '\\x']) {
    await editManifest(dir, (m) => {
      m.files[bad] = m.files['model.onnx'];
    });
    await refused(dir, 'manifest.json', /points outside the bundle/);
    await editManifest(dir, (m) => { delete m.files[bad]; });
  }
  await editManifest(dir, (m) => { m.task = 'translation'; });
  await refused(dir, 'manifest.json', /unknown task 'translation'/);
  await editManifest(dir, (m) => { m.format = 'other'; });
  await refused(dir, 'manifest.json', /not an mbja-bundle manifest/);
  await writeFile(join(dir, 'manifest.json'), '{"format": "mbja-bundle",');
  await refused(dir, 'manifest.json', /corrupt manifest/);
  await writeFile(join(dir, 'manifest.json'), Buffer.from([0xff, 0xfe]));
  await refused(dir, 'manifest.json', /not UTF-8/);
  await assert.rejects(Bundle.open(join(root, 'no-such-dir')), (e: unknown) => e instanceof BundleError && e.file === 'manifest.json');
});

test('labels.json must map ids 0..n-1 to strings', async () => {
  const dir = await copy();
  const labels = new TextEncoder().encode('{"0": "O", "2": "B-X"}');
  await writeFile(join(dir, 'labels.json'), labels);
  await editManifest(dir, (m) => { m.files['labels.json'].size = labels.length; });
  await refused(dir, 'labels.json', /label ids must be 0\.\.1/, false);
});

test('a bundle of another task opens, and the wrong task method says which task it is', async () => {
  const dir = await copy();
  await editManifest(dir, (m) => { m.task = 'sequence-classification'; });
  const m = await MobileBertJa.open(dir, { verify: false });
  try {
    assert.equal(m.task, 'sequence-classification');
    await assert.rejects(m.ner('東京'), (e: unknown) => e instanceof TaskMismatchError && e.requested === 'token-classification' &&
      e.bundleTask === 'sequence-classification' && /sequence-classification model/.test(e.message));
    await assert.rejects(m.fillMask('[MASK]'), TaskMismatchError);
    await assert.rejects(m.embed('東京'), TaskMismatchError);
  } finally {
    await m.dispose();
  }
});

test('in-memory files: ArrayBuffer, Uint8Array, Blob and Response are all accepted', async () => {
  const b = await Bundle.open(demo, { verify: false });
  const kinds = [
    (x: Uint8Array<ArrayBuffer>) => x,
    (x: Uint8Array<ArrayBuffer>) => x.buffer,
    (x: Uint8Array<ArrayBuffer>) => new Blob([x]),
    (x: Uint8Array<ArrayBuffer>) => new Response(x),
  ];
  const manifest = await readFile(join(demo, 'manifest.json'));
  /** Fresh values each time: a Response's body can be read once. */
  const files = (leaveOut?: string): Record<string, ArrayBuffer | Uint8Array | Blob | Response> => {
    const out: Record<string, ArrayBuffer | Uint8Array | Blob | Response> = { 'manifest.json': manifest };
    Object.keys(b.manifest.files).forEach((name, i) => {
      if (name !== leaveOut) out[name] = kinds[i % kinds.length](b.file(name).slice());
    });
    return out;
  };
  const opened = await Bundle.open(files());
  assert.equal(opened.location, 'in-memory bundle');
  assert.deepEqual(opened.labels, b.labels);
  await assert.rejects(Bundle.open(files('vocab.txt'), { verify: false }), (e: unknown) =>
    e instanceof BundleError && e.file === 'vocab.txt' && /vocab\.txt of the in-memory bundle/.test(e.message));
  await assert.rejects(Bundle.open({ ...files(), 'labels.json': 'text' as unknown as Uint8Array }, { verify: false }),
    (e: unknown) => e instanceof BundleError && e.file === 'labels.json');
  // bytes a reader cannot take as they are: a read body, a failing stream (BundleErrors, were TypeErrors);
  // a view of shared memory (WebCrypto hashes a copy)
  const used = new Response(b.file('vocab.txt').slice());
  await used.arrayBuffer();
  const failing = new Response(new ReadableStream({ pull: (c) => c.error(new Error('network lost')) }));
  for (const [what, value, words] of [['a read body', used, 'already been read'], ['a failing stream', failing, 'network lost']] as const) {
    await assert.rejects(Bundle.open({ ...files(), 'vocab.txt': value }, { verify: false }), (e: unknown) =>
      e instanceof BundleError && e.file === 'vocab.txt' && e.message.includes(words), what);
  }
  const vocab = b.file('vocab.txt');
  const shared = new Uint8Array(new SharedArrayBuffer(vocab.byteLength));
  shared.set(vocab);
  assert.deepEqual((await Bundle.open({ ...files(), 'vocab.txt': shared })).file('vocab.txt'), vocab);
});

test('a base URL: every file fetched relative to it, a 404 is a missing file', async () => {
  const dir = await copy();
  const server = createServer(async (req, res) => {
    try {
      res.end(await readFile(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname.replace(/^\/bundle\//, '')))));
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundle`;
    const b = await Bundle.open(base);
    assert.equal(b.location, `${base}/`);
    assert.equal(b.file('dictionary/chars.bin').byteLength, b.manifest.files['dictionary/chars.bin'].size);
    await unlink(join(dir, 'NOTICE'));
    await assert.rejects(Bundle.open(new URL(base)), (e: unknown) =>
      e instanceof BundleError && e.file === 'NOTICE' && e.message.includes(`${base}/NOTICE`));
  } finally {
    server.close();
  }
});

test('a download cut off midway is a BundleError naming the file', async () => {
  const server = createServer(async (req, res) => {
    const name = decodeURIComponent(new URL(req.url!, 'http://x').pathname.slice(1));
    const body = await readFile(join(demo, name));
    res.writeHead(200, { 'content-length': body.length });
    if (name !== 'model.onnx') return void res.end(body);
    res.flushHeaders();
    res.write(body.subarray(0, 100_000));
    setTimeout(() => res.destroy(), 200);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await assert.rejects(Bundle.open(base), (e: unknown) =>
      e instanceof BundleError && e.file === 'model.onnx' && e.message.includes(`cannot read bundle file ${base}model.onnx`));
  } finally {
    server.closeAllConnections();
    server.close();
  }
});

test('a source of the wrong kind is refused', async () => {
  await assert.rejects(Bundle.open(42 as unknown as string), MbjaError);
  // a Map of the files is not read as an object of files that lacks manifest.json
  const files = new Map([['manifest.json', await readFile(join(demo, 'manifest.json'))]]);
  await assert.rejects(Bundle.open(files as unknown as BundleFiles), (e: unknown) =>
    e instanceof BundleError && e.message.includes('a plain object of files by name, not Map'));
  await assert.rejects(Bundle.open(join(demo, 'manifest.json')), (e: unknown) =>
    e instanceof BundleError && e.message === `${join(demo, 'manifest.json')} is a file, not a bundle directory`);
  await assert.rejects(Bundle.open(''), (e: unknown) => e instanceof BundleError && e.message === 'not a bundle: ./manifest.json is missing');
  await assert.rejects(Bundle.open(demo, { verify: 'no' as unknown as boolean }), (e: unknown) =>
    e instanceof MbjaError && e.message === 'verify must be true or false, not "no"');
});
