/**
 * The browser demo page's script (web/index.html; compiled by the package's tsc to dist/web/demo.js,
 * no bundler): opens the bundle served under ../bundle/ with onnxruntime-web, keeping its files in
 * the Cache API between visits, and highlights named entities as the user types.
 *
 * Caching: `MobileBertJa.open(url, { cache })` looks every file up in the cache under its URL and
 * manifest sha256 first and downloads only what is missing or changed; the manifest is fetched
 * (revalidated) on every visit, and cached files are sha256-checked like downloaded ones.
 *
 * For tests and benchmarks the page publishes its state as `window.__mbja` (see DemoHook) and marks
 * each entity in the DOM as `<mark class="entity" data-type data-start data-end data-score>`.
 * `?bundle=URL` opens another bundle, `?threads=N` sets the WASM threads.
 */
import * as ort from 'onnxruntime-web';
import { type BundleCache, type Entity, MobileBertJa } from '../src/index.js';

/** Cache API storage the demo keeps bundles in. */
const CACHE_NAME = 'mbja-demo';
/** Typing pause before a text is analysed. */
const DEBOUNCE_MS = 150;
/** Longest text analysed per edit: the library windows any length, but a page should answer in seconds. */
const MAX_CHARS = 10_000;

export interface DemoResult {
  /** Counts analyses; the last one wins. */
  seq: number;
  text: string;
  /** The entities (`m.ner(text)`), or null when the text was refused or failed. */
  entities: Entity[] | null;
  error: string | null;
  /** `m.ner` wall time (tokenize + model + decode), ms. */
  ms: number | null;
  /** Tokens with [CLS] and [SEP]; the model sees windows of `maxLength` of them. */
  tokens: number | null;
}

export interface DemoLoad {
  /** first: nothing came from the cache; cached: every file did; partly cached: a changed bundle; uncached: no Cache API. */
  kind: 'first' | 'cached' | 'partly cached' | 'uncached';
  /** `MobileBertJa.open`: download or cache read, size + sha256 checks, tokenizer and session creation, ms. */
  ms: number;
  /** From navigation start to ready (page, scripts, onnxruntime-web's WASM, open), ms. */
  sinceNavigationMs: number;
  cacheHits: number;
  cacheMisses: number;
  /** The bundle's files, manifest excluded, and their total size. */
  files: number;
  bundleBytes: number;
  /** What this visit's requests under the bundle URL cost, from Resource Timing. */
  network: { requests: number; transferred: number; decoded: number };
}

export interface DemoEngine {
  backend: string;
  precision: string;
  reason: string;
  threads: number;
  crossOriginIsolated: boolean;
  ortVersion: string | null;
}

export interface DemoHook {
  state: 'loading' | 'ready' | 'error';
  /** Why loading failed. */
  error: string | null;
  load: DemoLoad | null;
  engine: DemoEngine | null;
  /** The last analysis, as shown. */
  lastResult: DemoResult | null;
  /** The opened model (benchmarks call `model.ner` directly). */
  model: MobileBertJa | null;
  /** Resolves when the model is open; rejects when it cannot be. */
  ready: Promise<void>;
  /** Shows `text` in the box and analyses it at once (no debounce), resolving to its result. */
  analyse(text: string): Promise<DemoResult>;
}

declare global {
  interface Window {
    __mbja: DemoHook;
  }
}

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
};
const ui = {
  status: $<HTMLParagraphElement>('status'),
  text: $<HTMLTextAreaElement>('text'),
  output: $<HTMLDivElement>('output'),
  error: $<HTMLParagraphElement>('error'),
  legend: $<HTMLUListElement>('legend'),
  table: $<HTMLTableElement>('entities'),
  engine: $<HTMLElement>('engine'),
  load: $<HTMLElement>('load'),
  downloaded: $<HTMLElement>('downloaded'),
  latency: $<HTMLElement>('latency'),
  forget: $<HTMLButtonElement>('forget'),
};

const params = new URLSearchParams(location.search);
const bundleUrl = new URL(params.get('bundle') ?? '../bundle/', location.href);
/** `?threads=N`: onnxruntime-web's WASM threads (default its own: up to 4 where the page is cross-origin isolated). */
const numThreads = Number(params.get('threads')) || undefined;
if (!bundleUrl.pathname.endsWith('/')) bundleUrl.pathname += '/';
// onnxruntime-web loads its WASM (and the .mjs that drives it) from here
ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', location.href).href;

let model: MobileBertJa | null = null;
let seq = 0;
const latencies: number[] = [];
let hues = new Map<string, number>();

const hook: DemoHook = {
  state: 'loading',
  error: null,
  load: null,
  engine: null,
  lastResult: null,
  model: null,
  ready: Promise.resolve(),
  analyse: (text) => {
    ui.text.value = text;
    return analyseNow(text);
  },
};
window.__mbja = hook;
hook.ready = load();
hook.ready.catch(() => { /* shown on the page; callers awaiting `ready` see the rejection */ });

async function load(): Promise<void> {
  performance.setResourceTimingBufferSize(1000);
  try {
    const counted = await openCache();
    const t0 = performance.now();
    const m = await MobileBertJa.open(bundleUrl.href, { backend: 'onnxruntime-web', cache: counted?.cache, numThreads });
    const ms = performance.now() - t0;
    model = m;
    const manifest = m.manifest;
    const entries = Object.values(manifest.files);
    const hits = counted?.hits() ?? 0;
    const misses = counted?.misses() ?? entries.length;
    hook.load = {
      kind: counted === undefined ? 'uncached' : hits === 0 ? 'first' : misses === 0 ? 'cached' : 'partly cached',
      ms,
      sinceNavigationMs: performance.now(),
      cacheHits: hits,
      cacheMisses: misses,
      files: entries.length,
      bundleBytes: entries.reduce((sum, e) => sum + e.size, 0),
      network: bundleTraffic(),
    };
    hook.engine = {
      backend: m.backend,
      precision: m.precision,
      reason: m.backendReason,
      threads: Number(ort.env.wasm.numThreads ?? 1) || 1,
      crossOriginIsolated: globalThis.crossOriginIsolated === true,
      ortVersion: (ort.env as { versions?: { web?: string } }).versions?.web ?? null,
    };
    hook.model = m;
    hues = typeHues(m.bundle.labels ?? []);
    showLoaded(hook.load, hook.engine);
    hook.state = 'ready';
    ui.text.disabled = false;
    ui.forget.disabled = counted === undefined;
    ui.text.addEventListener('input', onInput);
    ui.forget.addEventListener('click', forget);
    await analyseNow(ui.text.value);
  } catch (e) {
    hook.state = 'error';
    hook.error = describe(e);
    ui.status.dataset.state = 'error';
    ui.status.textContent = `Cannot load the bundle from ${bundleUrl.href}: ${hook.error}`;
    throw e;
  }
}

/** The Cache API store, counting lookups that hit and miss (undefined where the Cache API is unavailable). */
async function openCache(): Promise<{ cache: BundleCache; hits(): number; misses(): number } | undefined> {
  if (typeof caches === 'undefined') return undefined;
  let store: BundleCache;   // a Cache is one: `open(url, { cache: await caches.open(name) })` works as is
  try {
    store = await caches.open(CACHE_NAME);
  } catch {
    return undefined;   // e.g. storage blocked: the bundle still opens from the network
  }
  let hits = 0;
  let misses = 0;
  const cache: BundleCache = {
    match: async (url) => {
      const found = await store.match(url);
      if (found) hits++;
      else misses++;
      return found;
    },
    put: (url, response) => store.put(url, response),
    keys: (url, options) => store.keys(url, options),
    delete: (url) => store.delete(url),
  };
  return { cache, hits: () => hits, misses: () => misses };
}

/** This visit's requests under the bundle URL (Resource Timing; a 304 or a cache hit transfers ~nothing). */
function bundleTraffic(): DemoLoad['network'] {
  const entries = performance.getEntriesByType('resource') as PerformanceResourceTiming[];
  const mine = entries.filter((e) => e.name.startsWith(bundleUrl.href));
  return {
    requests: mine.length,
    transferred: mine.reduce((sum, e) => sum + e.transferSize, 0),
    decoded: mine.reduce((sum, e) => sum + e.decodedBodySize, 0),
  };
}

function showLoaded(load: DemoLoad, engine: DemoEngine): void {
  ui.status.dataset.state = 'ready';
  ui.status.textContent = `Ready: ${manifestName()} opened in ${ms(load.ms)} (${load.kind} load).`;
  ui.engine.textContent = `${engine.backend}${engine.ortVersion ? ` ${engine.ortVersion}` : ''} (WASM), ` +
    `${engine.precision} model, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}` +
    (engine.crossOriginIsolated ? '' : ' (page not cross-origin isolated: one thread)');
  const what = {
    first: 'first visit: downloaded, checked and stored in the Cache API',
    cached: 'cached visit: every file read from the Cache API and sha256-checked',
    'partly cached': `changed bundle: ${load.cacheMisses} file(s) downloaded, ${load.cacheHits} from the Cache API`,
    uncached: 'no Cache API here: downloaded every time',
  }[load.kind];
  ui.load.textContent = `${ms(load.ms)} to open (${what}); ready ${ms(load.sinceNavigationMs)} after navigation`;
  const n = load.network;
  ui.downloaded.textContent = `${mb(n.transferred)} over the network for the bundle (${n.requests} request` +
    `${n.requests === 1 ? '' : 's'}; ${load.files} files, ${mb(load.bundleBytes)} uncompressed)`;
  ui.legend.replaceChildren(...[...hues].map(([type, hue]) => {
    const li = document.createElement('li');
    li.textContent = type;
    li.style.setProperty('--hue', String(hue));
    return li;
  }));
}

function manifestName(): string {
  const source = model?.manifest.source as { model?: unknown } | undefined;
  return typeof source?.model === 'string' ? `the ${source.model} bundle` : 'the bundle';
}

let timer: ReturnType<typeof setTimeout> | undefined;

function onInput(): void {
  clearTimeout(timer);
  ui.output.dataset.state = 'busy';
  timer = setTimeout(() => { void analyseNow(ui.text.value); }, DEBOUNCE_MS);
}

/** One analysis at a time; while one runs, only the newest text waits (older edits are dropped). */
let running: Promise<void> | null = null;
let waiting: { text: string; done: Array<(r: DemoResult) => void> } | null = null;

function analyseNow(text: string): Promise<DemoResult> {
  clearTimeout(timer);
  return new Promise((resolve) => {
    if (waiting) {
      waiting.text = text;
      waiting.done.push(resolve);
    } else {
      waiting = { text, done: [resolve] };
    }
    if (running === null) running = drain();
  });
}

async function drain(): Promise<void> {
  while (waiting !== null) {
    const job = waiting;
    waiting = null;
    const result = await analyse(job.text);
    show(result);
    for (const done of job.done) done(result);
  }
  running = null;
}

async function analyse(text: string): Promise<DemoResult> {
  const result: DemoResult = { seq: ++seq, text, entities: null, error: null, ms: null, tokens: null };
  if (model === null) return { ...result, error: 'the model is not loaded' };
  if (text.length > MAX_CHARS) {
    return { ...result, error: `The text has ${text.length.toLocaleString('en')} characters; this demo analyses up to ` +
      `${MAX_CHARS.toLocaleString('en')} at a time (the library itself covers any length with overlapping windows).` };
  }
  try {
    result.tokens = model.tokenizer.encode(text, { truncation: false }).inputIds.length;
    const t0 = performance.now();
    result.entities = await model.ner(text);
    result.ms = performance.now() - t0;
  } catch (e) {
    result.error = describe(e);
  }
  return result;
}

function show(result: DemoResult): void {
  hook.lastResult = result;
  ui.output.dataset.state = 'idle';
  ui.output.dataset.seq = String(result.seq);
  ui.error.hidden = result.error === null;
  ui.error.textContent = result.error ?? '';
  const body = ui.table.tBodies[0];
  if (result.entities === null) {
    ui.output.replaceChildren(placeholder('(no result)'));
    body.replaceChildren();
    ui.latency.textContent = '–';
    return;
  }
  ui.output.replaceChildren(...highlighted(result.text, result.entities));
  body.replaceChildren(...result.entities.map(row));
  if (result.ms !== null && result.text.trim() !== '') {
    latencies.push(result.ms);
    const windows = model && result.tokens !== null && result.tokens > model.maxLength ? ', several windows' : '';
    ui.latency.textContent = `${ms(result.ms)} for ${result.tokens} tokens${windows} ` +
      `(tokenize + model + decode; median of ${latencies.length}: ${ms(median(latencies))})`;
  }
}

/** The text with every entity wrapped in a <mark>; entities are sorted and never overlap. */
function highlighted(text: string, entities: Entity[]): Node[] {
  if (text.trim() === '') return [placeholder('Type some Japanese text above.')];
  const nodes: Node[] = [];
  let at = 0;
  for (const e of [...entities].sort((a, b) => a.start - b.start)) {
    if (e.start < at) continue;
    if (e.start > at) nodes.push(document.createTextNode(text.slice(at, e.start)));
    const mark = document.createElement('mark');
    mark.className = 'entity';
    mark.textContent = text.slice(e.start, e.end);
    mark.dataset.type = e.type;
    mark.dataset.start = String(e.start);
    mark.dataset.end = String(e.end);
    mark.dataset.score = String(e.score);
    mark.title = `${e.type} ${e.score.toFixed(3)}`;
    mark.style.setProperty('--hue', String(hues.get(e.type) ?? 200));
    nodes.push(mark);
    at = e.end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  if (entities.length === 0) nodes.push(placeholder('  (no entities)'));
  return nodes;
}

function row(e: Entity): HTMLTableRowElement {
  const tr = document.createElement('tr');
  for (const [value, cls] of [[e.type, ''], [e.text, ''], [`${e.start}–${e.end}`, 'num'], [e.score.toFixed(4), 'num']]) {
    const td = document.createElement('td');
    td.textContent = value;
    if (cls) td.className = cls;
    tr.append(td);
  }
  return tr;
}

function placeholder(text: string): HTMLElement {
  const span = document.createElement('span');
  span.className = 'placeholder';
  span.textContent = text;
  return span;
}

/** A hue per entity type (labels without their B-/I- prefix), spread around the colour wheel. */
function typeHues(labels: string[]): Map<string, number> {
  const types = [...new Set(labels.filter((l) => l !== 'O').map((l) => l.replace(/^[BIES]-/, '')))];
  return new Map(types.map((t, i) => [t, Math.round((i * 360) / Math.max(types.length, 1) + 15) % 360]));
}

async function forget(): Promise<void> {
  ui.forget.disabled = true;
  await caches.delete(CACHE_NAME);
  location.reload();
}

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function ms(value: number): string {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(1)} ms`;
}

function mb(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${(bytes / 1e3).toFixed(1)} kB`;
}
