#!/usr/bin/env node
/**
 * The browser demo's numbers, and Node's and Python's on the same sentences, in one run (not a test):
 *
 *   npm run build && node bench/web.mjs --bundle ../build/demo-int8-bundle [--sentences 200] [--threads 1]
 *        [--cached-visits 3] [--out ../benchmarks/results/web] [--no-python]
 *
 * Browser (headless Chromium, the demo page over web/serve.mjs, a fresh profile): the first visit's
 * load (cold Cache API: download + gunzip + size and sha256 checks + tokenizer + WASM session), the
 * cached visits' load (reloads: every file from the Cache API, still sha256-checked), the bytes the
 * server sent for the bundle with gzip and their uncompressed size, NER per sentence (`model.ner`,
 * onnxruntime-web WASM) and the tokenizer's sentences/s. Node: the tokenizer's sentences/s over all
 * ner.json sentences and NER per sentence with onnxruntime-node and with onnxruntime-web (WASM).
 * Python (.venv/bin/python, unless --no-python): `mbja_runtime.load(bundle)` NER per sentence and
 * `m.tokenizer.encode` on the same sentences. Every engine runs `--threads` intra-op threads.
 *
 * Sentences: toolchain/mbja_build/data/ner.json.gz, all 5,343 for the tokenizer, `--sentences`
 * evenly spaced ones for NER (5 untimed warm-up calls first). Writes bench.json and bench.md to
 * --out and prints the Markdown. The server's gzip cache is filled before the first visit, so the
 * cold load measures the browser, as a host serving precompressed files would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import puppeteer from 'puppeteer-core';
import { MobileBertJa } from '../dist/src/index.js';
import { PACKAGE_ROOT, startServer } from '../web/serve.mjs';

const REPO = resolve(PACKAGE_ROOT, '..');
const here = dirname(fileURLToPath(import.meta.url));
const FLAGS = ['avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'amx_int8'];
/** Untimed calls first: WASM tiers up (Liftoff to TurboFan) over its first ~20-40 calls in Node 20. */
const WARMUP = 30;

function parseArgs(argv) {
  const args = {
    bundle: resolve(REPO, 'build', 'demo-int8-bundle'), sentences: 200, threads: 1, cachedVisits: 3,
    out: resolve(REPO, 'benchmarks', 'results', 'web'), python: true,
    chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (argv[i + 1] === undefined) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--bundle') args.bundle = resolve(value());
    else if (arg === '--sentences') args.sentences = Number(value());
    else if (arg === '--threads') args.threads = Number(value());
    else if (arg === '--cached-visits') args.cachedVisits = Number(value());
    else if (arg === '--out') args.out = resolve(value());
    else if (arg === '--chromium') args.chromium = value();
    else if (arg === '--no-python') args.python = false;
    else throw new Error(`unknown argument ${arg} (see the comment at the top of bench/web.mjs)`);
  }
  if (!existsSync(join(args.bundle, 'manifest.json'))) throw new Error(`no bundle at ${args.bundle}`);
  if (!(args.sentences > 0) || !(args.threads > 0) || !(args.cachedVisits > 0)) throw new Error('counts must be positive');
  return args;
}

function cpuInfo() {
  let text = '';
  try {
    text = readFileSync('/proc/cpuinfo', 'utf8');
  } catch { /* not Linux */ }
  const model = /^model name\s*:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown CPU';
  const flags = new Set((/^flags\s*:\s*(.+)$/m.exec(text)?.[1] ?? '').split(/\s+/));
  return { model, logical: cpus().length, flags: Object.fromEntries(FLAGS.map((f) => [f, flags.has(f)])) };
}

function stats(ms) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
  const total = ms.reduce((a, b) => a + b, 0);
  return { n: ms.length, mean: total / ms.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), perSecond: (1000 * ms.length) / total };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Fills the server's gzip cache (one gzip request per bundle file), so no visit waits for compression. */
async function warmGzip(server, names) {
  for (const name of names) {
    await new Promise((done, fail) => {
      const req = request(`${server.origin}/bundle/${name.split('/').map(encodeURIComponent).join('/')}`,
        { headers: { 'Accept-Encoding': 'gzip' } }, (res) => { res.resume(); res.on('end', done); });
      req.on('error', fail);
      req.end();
    });
  }
  server.requests.length = 0;
}

async function waitReady(page) {
  await page.waitForFunction(() => window.__mbja !== undefined &&
    ((window.__mbja.state === 'ready' && window.__mbja.lastResult !== null) || window.__mbja.state === 'error'),
  { timeout: 180_000 });
  const hook = await page.evaluate(() => ({ state: window.__mbja.state, error: window.__mbja.error, load: window.__mbja.load,
    engine: window.__mbja.engine }));
  if (hook.state !== 'ready') throw new Error(`the page did not load the bundle: ${hook.error}`);
  return hook;
}

async function browser(args, manifest, texts, sample) {
  const server = await startServer({ bundle: args.bundle });
  const profile = await mkdtemp(join(tmpdir(), 'mbja-bench-chromium-'));
  const chromium = await puppeteer.launch({
    executablePath: args.chromium, headless: true, userDataDir: profile,
    args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage'],
  });
  try {
    const names = Object.keys(manifest.files);
    await warmGzip(server, names);
    const page = await chromium.newPage();
    const url = `${server.url}?threads=${args.threads}`;
    await page.goto(url);
    const cold = await waitReady(page);
    if (cold.load.kind !== 'first') throw new Error(`the first visit was a ${cold.load.kind} load`);
    const sent = server.requests.filter((r) => r.path.startsWith('/bundle/'));
    const runtimeSent = server.requests.filter((r) => r.path.startsWith('/node_modules/') || r.path.startsWith('/dist/'));
    const part = (name) => (name.startsWith(`${manifest.dictionary ?? 'dictionary'}/`) ? 'dictionary'
      : manifest.models.some((m) => m.file === name) ? 'model' : 'other');
    const transfer = { dictionary: { files: 0, bytes: 0, gzip: 0 }, model: { files: 0, bytes: 0, gzip: 0 }, other: { files: 0, bytes: 0, gzip: 0 } };
    for (const r of sent) {
      const name = decodeURIComponent(r.path.slice('/bundle/'.length));
      const t = transfer[name === 'manifest.json' ? 'other' : part(name)];
      t.files++;
      t.bytes += r.size;
      t.gzip += r.bytes;
    }
    const runtime = { files: runtimeSent.length, bytes: runtimeSent.reduce((s, r) => s + r.size, 0), gzip: runtimeSent.reduce((s, r) => s + r.bytes, 0) };

    const cached = [];
    for (let i = 0; i < args.cachedVisits; i++) {
      server.requests.length = 0;
      await page.reload();
      const visit = await waitReady(page);
      const asked = server.requests.filter((r) => r.path.startsWith('/bundle/')).map((r) => r.path);
      if (visit.load.kind !== 'cached' || asked.join() !== '/bundle/manifest.json') {
        throw new Error(`cached visit ${i + 1}: a ${visit.load.kind} load asking for ${asked.join(', ')}`);
      }
      cached.push(visit.load);
    }

    const timing = await page.evaluate(async (sampleTexts, allTexts, warmup) => {
      const m = window.__mbja.model;
      for (const t of sampleTexts.slice(0, warmup)) await m.ner(t);
      const ner = [];
      let entities = 0;
      for (const t of sampleTexts) {
        const t0 = performance.now();
        entities += (await m.ner(t)).length;
        ner.push(performance.now() - t0);
      }
      const passes = [];
      for (let pass = 0; pass < 4; pass++) {
        const t0 = performance.now();
        for (const t of allTexts) m.tokenizer.encode(t, { truncation: false });
        passes.push(performance.now() - t0);
      }
      return { ner, entities, tokenizerPasses: passes.slice(1) };
    }, sample, texts, WARMUP);
    return {
      version: await chromium.version(),
      engine: cold.engine,
      coldLoadMs: cold.load.ms,
      coldReadyAfterNavigationMs: cold.load.sinceNavigationMs,
      cachedLoadMs: cached.map((l) => l.ms),
      cachedReadyAfterNavigationMs: cached.map((l) => l.sinceNavigationMs),
      transfer,
      runtime,
      ner: stats(timing.ner),
      entities: timing.entities,
      tokenizerPerSecond: (1000 * texts.length) / median(timing.tokenizerPasses),
    };
  } finally {
    await chromium.close();
    await server.close();
    await rm(profile, { recursive: true, force: true });
  }
}

async function node(args, backend, texts, sample, withTokenizer) {
  const t0 = performance.now();
  const m = await MobileBertJa.open(args.bundle, { backend, numThreads: args.threads });
  const loadMs = performance.now() - t0;
  try {
    for (const t of sample.slice(0, WARMUP)) await m.ner(t);
    const ner = [];
    let entities = 0;
    for (const t of sample) {
      const s = performance.now();
      entities += (await m.ner(t)).length;
      ner.push(performance.now() - s);
    }
    let tokenizerPerSecond = null;
    if (withTokenizer) {
      const passes = [];
      for (let pass = 0; pass < 4; pass++) {
        const s = performance.now();
        for (const t of texts) m.tokenizer.encode(t, { truncation: false });
        passes.push(performance.now() - s);
      }
      tokenizerPerSecond = (1000 * texts.length) / median(passes.slice(1));
    }
    return { backend, loadMs, ner: stats(ner), entities, tokenizerPerSecond };
  } finally {
    await m.dispose();
  }
}

const PYTHON = String.raw`
import json, sys, time, statistics
import onnxruntime, mbja_runtime
bundle, texts_file, threads, warmup = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
data = json.load(open(texts_file, encoding="utf-8"))
t0 = time.perf_counter()
m = mbja_runtime.load(bundle, backend="onnx", num_threads=threads)
load_ms = (time.perf_counter() - t0) * 1000
for t in data["sample"][:warmup]:
    m(t)
ner, entities = [], 0
for t in data["sample"]:
    s = time.perf_counter()
    entities += len(m(t))
    ner.append((time.perf_counter() - s) * 1000)
passes = []
for _ in range(4):
    s = time.perf_counter()
    for t in data["all"]:
        m.tokenizer.encode(t)
    passes.append(time.perf_counter() - s)
reference = None
try:   # the target: transformers' BertJapaneseTokenizer (fugashi + unidic-lite), the tokens' definition
    from pathlib import Path
    from mbja_build.reference import reference_tokenizer
    ref = reference_tokenizer(Path(bundle) / "vocab.txt")
    ref_passes = []
    for _ in range(3):
        s = time.perf_counter()
        for t in data["all"]:
            ref(t)
        ref_passes.append(time.perf_counter() - s)
    reference = len(data["all"]) / statistics.median(ref_passes[1:])
except ImportError:
    pass
print(json.dumps({"load_ms": load_ms, "ner_ms": ner, "entities": entities,
                  "tokenizer_per_second": len(data["all"]) / statistics.median(passes[1:]),
                  "reference_tokenizer_per_second": reference,
                  "python": sys.version.split()[0], "onnxruntime": onnxruntime.__version__,
                  "backend": m.backend_choice}))
`;

async function python(args, texts, sample) {
  const exe = resolve(REPO, '.venv', 'bin', 'python');
  if (!existsSync(exe)) return { skipped: `no ${exe}` };
  const dir = await mkdtemp(join(tmpdir(), 'mbja-bench-py-'));
  try {
    const file = join(dir, 'texts.json');
    await writeFile(file, JSON.stringify({ sample, all: texts }));
    const run = spawnSync(exe, ['-c', PYTHON, args.bundle, file, String(args.threads), String(WARMUP)],
      { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, HF_HUB_OFFLINE: '1' } });
    if (run.status !== 0) return { skipped: `python failed: ${(run.stderr || '').trim().split('\n').at(-1)}` };
    const out = JSON.parse(run.stdout.trim().split('\n').at(-1));
    return { loadMs: out.load_ms, ner: stats(out.ner_ms), entities: out.entities, tokenizerPerSecond: out.tokenizer_per_second,
      referenceTokenizerPerSecond: out.reference_tokenizer_per_second,
      python: out.python, onnxruntime: out.onnxruntime, backend: out.backend };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const f1 = (x) => (x === null || x === undefined ? '–' : x.toFixed(1));
const f2 = (x) => (x === null || x === undefined ? '–' : x.toFixed(2));
const int = (x) => (x === null || x === undefined ? '–' : Math.round(x).toLocaleString('en'));
const mb = (b) => (b / 1e6).toFixed(2);

function markdown(r) {
  const cpu = r.cpu;
  const flags = FLAGS.map((f) => `${f} ${cpu.flags[f] ? 'yes' : 'no'}`).join(', ');
  const b = r.browser;
  const t = b.transfer;
  const total = { bytes: t.dictionary.bytes + t.model.bytes + t.other.bytes, gzip: t.dictionary.gzip + t.model.gzip + t.other.gzip };
  const lines = [];
  lines.push(`Benchmark: the browser demo and the Node and Python runtimes on one bundle, one run; ${r.bundle.name} ` +
    `(${r.bundle.precision} ONNX, ${mb(r.bundle.modelBytes)} MB model); ${r.threads} inference thread${r.threads === 1 ? '' : 's'} everywhere; ` +
    `${cpu.model} (${cpu.logical} logical CPUs; ${flags}); ${r.date}.`);
  lines.push('');
  lines.push('| runtime | engine | open ms (first / cached) | NER p50 ms | NER p90 ms | NER mean ms | NER sentences/s | tokenizer sentences/s |');
  lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  lines.push(`| browser (Chromium ${b.version.replace(/^[^/]*\//, '')}) | onnxruntime-web ${b.engine.ortVersion ?? ''} WASM, ` +
    `${b.engine.threads} thread${b.engine.threads === 1 ? '' : 's'} | ${int(b.coldLoadMs)} / ${int(median(b.cachedLoadMs))} | ${f2(b.ner.p50)} | ${f2(b.ner.p90)} | ` +
    `${f2(b.ner.mean)} | ${f1(b.ner.perSecond)} | ${int(b.tokenizerPerSecond)} |`);
  for (const n of r.node) {
    lines.push(`| Node ${r.versions.node} | ${n.backend} ${r.versions[n.backend] ?? ''}${n.backend === 'onnxruntime-web' ? ' WASM' : ''} | ` +
      `${int(n.loadMs)} | ${f2(n.ner.p50)} | ${f2(n.ner.p90)} | ${f2(n.ner.mean)} | ${f1(n.ner.perSecond)} | ${int(n.tokenizerPerSecond)} |`);
  }
  const p = r.python;
  if (p && !p.skipped) {
    lines.push(`| Python ${p.python} (mbja_runtime) | onnxruntime ${p.onnxruntime} | ${int(p.loadMs)} | ${f2(p.ner.p50)} | ` +
      `${f2(p.ner.p90)} | ${f2(p.ner.mean)} | ${f1(p.ner.perSecond)} | ${int(p.tokenizerPerSecond)} |`);
  }
  if (p && !p.skipped && p.referenceTokenizerPerSecond) {
    lines.push(`| Python ${p.python}: transformers' BertJapaneseTokenizer (the reference) | fugashi + unidic-lite | – | – | – | – | – | ` +
      `${int(p.referenceTokenizerPerSecond)} |`);
    const node = r.node.find((n) => n.tokenizerPerSecond);
    if (node) {
      lines.push('');
      lines.push(`Tokenizer target (Node >= BertJapaneseTokenizer in Python, same run): ${int(node.tokenizerPerSecond)} vs ` +
        `${int(p.referenceTokenizerPerSecond)} sentences/s = ${(node.tokenizerPerSecond / p.referenceTokenizerPerSecond).toFixed(2)}x, ` +
        `${node.tokenizerPerSecond >= p.referenceTokenizerPerSecond ? 'met' : 'missed'}.`);
    }
  }
  lines.push('');
  lines.push('| bundle over HTTP (first visit) | files | uncompressed MB | gzip MB |');
  lines.push('| --- | ---: | ---: | ---: |');
  for (const [name, v] of Object.entries(t)) lines.push(`| ${name} | ${v.files} | ${mb(v.bytes)} | ${mb(v.gzip)} |`);
  lines.push(`| **bundle total** | ${t.dictionary.files + t.model.files + t.other.files} | ${mb(total.bytes)} | **${mb(total.gzip)}** |`);
  lines.push(`| runtime (onnxruntime-web WASM + JS, the package's dist/) | ${b.runtime.files} | ${mb(b.runtime.bytes)} | ${mb(b.runtime.gzip)} |`);
  lines.push('');
  lines.push(`Target: bundle (dictionary + model) <= 25 MB over HTTP with gzip: ${mb(t.dictionary.gzip + t.model.gzip)} MB, ` +
    `${t.dictionary.gzip + t.model.gzip <= 25e6 ? 'met' : '**not met**'}.`);
  lines.push('');
  lines.push(`Conditions: \`${r.command}\`. NER: \`ner(text)\` (tokenize + model + decode, \`simple\` aggregation) one ` +
    `sentence at a time on ${b.ner.n} evenly spaced sentences of toolchain/mbja_build/data/ner.json.gz after ${WARMUP} untimed ` +
    `ones (entities found: browser ${b.entities}, ${r.node.map((x) => `${x.backend} ${x.entities}`).join(', ')}` +
    `${p && !p.skipped ? `, Python ${p.entities}` : ''}); tokenizer: \`encode\` over all ${int(r.sentences.all)} sentences, median of 3 passes after one warm-up pass. ` +
    `Open: browser first visit = download over loopback (gzip) + size and sha256 checks + tokenizer + WASM session ` +
    `(${int(b.coldReadyAfterNavigationMs)} ms from navigation to ready), cached = median of ${b.cachedLoadMs.length} reloads ` +
    `(${b.cachedLoadMs.map(int).join(', ')} ms) reading every file from the Cache API, sha256-checked, only the manifest ` +
    'revalidated (304); Node = `MobileBertJa.open(dir)` from disk with sha256 checks; Python = `mbja_runtime.load(dir)`. ' +
    `Load average ${r.loadavg.start.map((x) => x.toFixed(2)).join(' ')} at start, ${r.loadavg.end.map((x) => x.toFixed(2)).join(' ')} at end.`);
  return lines.join('\n');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const start = loadavg();
  const manifest = JSON.parse(await readFile(join(args.bundle, 'manifest.json'), 'utf8'));
  const model = manifest.models.find((m) => m.backend === 'onnx');
  const corpus = JSON.parse(gunzipSync(readFileSync(resolve(REPO, 'toolchain', 'mbja_build', 'data', 'ner.json.gz'))).toString('utf8'));
  const texts = corpus.map((r) => r.text);
  const n = Math.min(args.sentences, texts.length);
  const sample = Array.from({ length: n }, (_, i) => texts[Math.floor((i * texts.length) / n)]);

  console.error(`bench: browser (${args.chromium}) on ${args.bundle}...`);
  const browserResult = await browser(args, manifest, texts, sample);
  console.error('bench: Node, onnxruntime-node...');
  const nodeResults = [await node(args, 'onnxruntime-node', texts, sample, true)];
  console.error('bench: Node, onnxruntime-web (WASM)...');
  nodeResults.push(await node(args, 'onnxruntime-web', texts, sample, false));
  let pythonResult = { skipped: '--no-python' };
  if (args.python) {
    console.error('bench: Python, mbja_runtime...');
    pythonResult = await python(args, texts, sample);
  }
  const pkg = (name) => JSON.parse(readFileSync(resolve(PACKAGE_ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  const argv = process.argv.slice(2).map((a) => (a.includes(' ') ? `'${a}'` : a)).join(' ');
  const result = {
    date: new Date().toISOString().replace(/:\d\d\.\d+Z$/, ' UTC').replace('T', ' '),
    command: `cd runtime_ts && node ${relative(PACKAGE_ROOT, join(here, 'web.mjs'))}${argv ? ` ${argv}` : ''}`,
    cpu: cpuInfo(),
    threads: args.threads,
    versions: { node: process.versions.node, 'onnxruntime-node': pkg('onnxruntime-node'), 'onnxruntime-web': pkg('onnxruntime-web'),
      'puppeteer-core': pkg('puppeteer-core') },
    bundle: { name: relative(REPO, args.bundle), precision: model?.precision, modelBytes: manifest.files[model?.file]?.size ?? 0,
      files: Object.keys(manifest.files).length },
    sentences: { all: texts.length, ner: n },
    browser: browserResult,
    node: nodeResults,
    python: pythonResult,
    loadavg: { start, end: loadavg() },
  };
  const md = markdown(result);
  await mkdir(args.out, { recursive: true });
  await writeFile(join(args.out, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(args.out, 'bench.md'), `${md}\n`);
  console.log(md);
  console.error(`bench: wrote ${join(args.out, 'bench.json')} and bench.md`);
}

main().catch((e) => {
  console.error(`bench/web.mjs: ${e?.stack ?? e}`);
  process.exit(1);
});
