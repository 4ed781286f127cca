/**
 * MobileBertJa end to end on the demo bundle: tokenizer, engine and decoders together give the
 * Python runtime's results for every model-vector text (vectors/model_token_classification.json.gz),
 * on both engines: spans, labels and tokens exactly, scores within 1e-4 (the engines' logits differ
 * from Python's within the fp32 rule; a probability moves at most half as much as its logits), as
 * the Kotlin MobileBertJaTest requires. fill-mask and embeddings run on the same bundle relabelled,
 * as the vectors' `retasked_vectors` did in Python.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { bundleDir, readJson, utf16Index } from './support.js';
import {
  AGGREGATIONS, type BundleFiles, type EngineBackend, type Entity, MAX_THREADS, MbjaError, MobileBertJa, type NerOptions,
  type OpenOptions, TaskMismatchError, type TokenTag,
  TokenizerError,
} from '../src/index.js';

type Json = Record<string, any>;
const SCORE_TOLERANCE = 1e-4;
const vectors = readJson('model_token_classification.json.gz') as Json;
const cases = vectors.cases as Json[];
const dir = bundleDir();
const opened: MobileBertJa[] = [];
after(async () => { for (const m of opened) await m.dispose(); });

async function open(source: Parameters<typeof MobileBertJa.open>[0], options?: Parameters<typeof MobileBertJa.open>[1]) {
  const m = await MobileBertJa.open(source, options);
  opened.push(m);
  return m;
}

function f32(v: Json): Float32Array {
  const bytes = Buffer.from(v.f32 as string, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function close(want: number, got: number, what: string): void {
  assert.ok(Math.abs(want - got) <= SCORE_TOLERANCE, `${what}: score ${got} vs Python's ${want}`);
}

/** Python's results (code-point spans) against ours (UTF-16 spans) for one text and aggregation. */
function assertSameResults(text: string, want: Json[], got: Entity[] | TokenTag[], what: string): void {
  const at = utf16Index(text);
  if (got.length > 0 && 'entity' in got[0]) {
    const tags = got as TokenTag[];
    assert.deepEqual(tags.map((t) => [t.entity, t.index, t.word, t.start, t.end]),
      want.map((t) => [t.entity, t.index, t.word, at[t.start], at[t.end]]), what);
  } else {
    assert.deepEqual((got as Entity[]).map((e) => [e.type, e.text, e.start, e.end]),
      want.map((e) => [e.type, e.text, at[e.start], at[e.end]]), what);
  }
  want.forEach((w, i) => close(w.score, got[i].score, what));
}

for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as EngineBackend[]) {
  test(`${backend}: ner equals Python for every vector text and aggregation`, async () => {
    const m = await open(dir, { backend, verify: backend === 'onnxruntime-node' });
    assert.equal(m.backend, backend);
    let entities = 0;
    for (const c of cases) {
      assert.deepEqual(m.tokenizer.encode(c.text, { truncation: false }).inputIds, c.input_ids, `token ids of '${c.text.slice(0, 20)}'`);
      for (const aggregation of AGGREGATIONS) {
        const got = await m.ner(c.text, { aggregation });
        assertSameResults(c.text, c.results[aggregation], got, `${backend} ${aggregation}: '${c.text.slice(0, 20)}'`);
        if (aggregation !== 'none') entities += got.length;
      }
    }
    assert.ok(entities > 50, `only ${entities} entities: nothing much was checked`);
  });
}

test('open reports the engine and why; manifest, task and max length come from the bundle', async () => {
  const m = await open(dir);
  assert.equal(m.backend, 'onnxruntime-node');
  assert.match(m.backendReason, /Node.*onnxruntime-node/);
  assert.equal(m.task, 'token-classification');
  assert.equal(m.manifest.format_version, 1);
  assert.equal(m.maxLength, 512);
  assert.equal(m.precision, 'fp32');
  assert.match(String(m), /token-classification, onnxruntime-node fp32/);
});

test('entities point into the original text; long texts are windowed, not cut', async () => {
  const m = await open(dir, { verify: false });
  const text = '😀レッドフォックス株式会社は東京都千代田区にある。';
  const entities = await m.ner(text);
  assert.ok(entities.length > 0, 'the demo found no entity: nothing was checked');
  for (const e of entities) assert.equal(text.slice(e.start, e.end), e.text);
  assert.deepEqual(await m.ner(''), []);
  assert.deepEqual(await m.ner(' \n\t'), []);
  const long = cases.filter((c) => c.kind === 'long').at(-1)!;
  const found = await m.ner(long.text);
  assert.ok(found.at(-1)!.end > long.text.length / 2, 'entities only in the first half of a long text');
  await assert.rejects(m.ner(long.text, { stride: m.maxLength }), MbjaError);
});

test('wrong task, bad options and bad text are refused clearly', async () => {
  const m = await open(dir, { verify: false });
  await assert.rejects(m.classify('テスト'), (e: unknown) => e instanceof TaskMismatchError &&
    e.requested === 'sequence-classification' && e.message.includes('token-classification'));
  await assert.rejects(m.fillMask('東京は[MASK]です'), TaskMismatchError);
  await assert.rejects(m.embed('テスト'), TaskMismatchError);
  await assert.rejects(m.ner('東京', { aggregation: 'median' as 'max' }), /unknown aggregation 'median'/);
  await assert.rejects(m.ner('東京\uD800都'), TokenizerError);
  await assert.rejects(m.ner(42 as unknown as string), MbjaError);
  // thread counts the Python and Kotlin runtimes refuse too, before any engine starts
  for (const numThreads of [-1, 1.5, Number.NaN, MAX_THREADS + 1, 100000, '2' as unknown as number]) {
    await assert.rejects(MobileBertJa.open(dir, { verify: false, numThreads }),
      (e: unknown) => e instanceof MbjaError && e.message.includes(`from 0 (the engine's default) to ${MAX_THREADS}`), String(numThreads));
  }
  await (await MobileBertJa.open(dir, { verify: false, numThreads: null })).dispose();   // null: the default, as Python's None
  const threads = await MobileBertJa.open(dir, { verify: false, numThreads: 2 });    // control
  try {
    assert.deepEqual(await threads.ner('東京'), await m.ner('東京'));
  } finally {
    await threads.dispose();
  }
});

test('options are checked before any text, whatever its length, as Python checks them', async () => {
  const m = await open(dir, { verify: false });
  const refused = async (call: Promise<unknown>, words: string, what: string) =>
    assert.rejects(call, (e: unknown) => e instanceof MbjaError && e.message.includes(words), what);
  for (const stride of [-1, 1.5, Number.NaN, m.maxLength - 2, '8']) {                 // a short text: no window needed
    await refused(m.ner('東京', { stride: stride as number }), `stride must be an integer >= 0 and < the window's 510`, String(stride));
  }
  for (const ignoreLabels of ['地名', null, [5], 5]) {        // '地名' was the set of its two characters
    await refused(m.ner('東京', { ignoreLabels: ignoreLabels as unknown as string[] }), 'ignoreLabels must be an array of label names',
      JSON.stringify(ignoreLabels));
  }
  await refused(m.ner('東京', { agregation: 'none' } as NerOptions), 'unknown option(s) agregation for ner; known:', 'a typo');
  await refused(m.ner('東京', { aggregation: null } as unknown as NerOptions), "unknown aggregation 'null'", 'aggregation null');
  await refused(m.ner('東京', 'simple' as unknown as NerOptions), 'the options of ner must be an object', 'a string');
  await refused(MobileBertJa.open(dir, { verfy: false } as OpenOptions), 'unknown option(s) verfy for MobileBertJa.open', 'open');
  // null options are no options; ignoreLabels are honoured
  const text = 'レッドフォックス株式会社は東京都千代田区にある。';
  assert.deepEqual(await m.ner(text, null), await m.ner(text));
  assert.deepEqual((await m.ner(text, { ignoreLabels: ['O', '地名'] })).map((e) => e.type), ['法人名']);
  assert.deepEqual(m.tokenizer.encode(text, null).inputIds, m.tokenizer.encode(text).inputIds);
});

test('dispose waits for the runs in flight (onnxruntime-web spun forever on a released session)', { timeout: 120_000 }, async () => {
  for (const backend of ['onnxruntime-web', 'onnxruntime-node'] as const) {
    const m = await MobileBertJa.open(dir, { verify: false, backend });
    const want = await m.ner('山田太郎は東京都に住む');
    const running = [m.ner('山田太郎は東京都に住む'), m.ner('山田太郎は東京都に住む')];
    await m.dispose();
    for (const got of await Promise.allSettled(running)) {
      // a call either finished before the release or was refused as disposed; none hangs or crashes
      if (got.status === 'fulfilled') assert.deepEqual(got.value, want, backend);
      else assert.ok(got.reason instanceof MbjaError && /disposed/.test(got.reason.message), `${backend}: ${got.reason}`);
    }
    await assert.rejects(m.ner('東京'), /disposed/);
  }
});

test('after dispose a task call is an MbjaError', async () => {
  const m = await MobileBertJa.open(dir, { verify: false, backend: 'onnxruntime-web' });
  await m.dispose();
  await m.dispose();
  await assert.rejects(m.ner('東京'), /disposed/);
});

/** The demo bundle as in-memory files, its manifest's task rewritten (what `retasked_vectors` did in Python). */
async function retasked(task: string): Promise<BundleFiles> {
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
  const files: BundleFiles = { 'manifest.json': new TextEncoder().encode(JSON.stringify({ ...manifest, task })) };
  for (const name of Object.keys(manifest.files)) files[name] = await readFile(join(dir, ...name.split('/')));
  return files;
}

test('fillMask on the relabelled bundle equals Python (in-memory source)', async () => {
  const m = await open(await retasked('fill-mask'));
  assert.equal(m.task, 'fill-mask');
  // topK null is no default here (Python: "top_k must be a positive int, not None"); a string is shown as one
  await assert.rejects(m.fillMask('東京は[MASK]です', { topK: null as unknown as number }), /topK must be a positive integer, not null/);
  await assert.rejects(m.fillMask('東京は[MASK]です', { topK: '3' as unknown as number }), /not "3"/);
  const fills = vectors.fill_mask as Json[];
  assert.equal(fills.filter((c) => c.error).length, 2);
  for (const c of fills) {
    if (c.error) {
      await assert.rejects(m.fillMask(c.text, { topK: c.top_k }), MbjaError, c.text.slice(0, 20));
      continue;
    }
    const got = await m.fillMask(c.text, { topK: c.top_k });
    const want = c.results as Json[][];
    assert.deepEqual(got.map((mask) => mask.map((f) => [f.token, f.token_str, f.sequence])),
      want.map((mask) => mask.map((f) => [f.token, f.token_str, f.sequence])), c.text.slice(0, 20));
    want.forEach((mask, i) => mask.forEach((f, j) => close(f.score, got[i][j].score, c.text.slice(0, 20))));
  }
  await assert.rejects(m.ner('東京'), TaskMismatchError);
});

test('embed on the relabelled bundle equals Python within 1e-4', async () => {
  const m = await open(await retasked('feature-extraction'), { verify: false });
  for (const c of vectors.feature_extraction as Json[]) {
    const got = await m.embed(c.text, { pooling: c.pooling, normalize: c.normalize });
    const want = f32(c.result);
    assert.equal(got.length, want.length);
    want.forEach((x, i) => assert.ok(Math.abs(x - got[i]) <= 1e-4, `${c.pooling} ${c.normalize} '${c.text.slice(0, 20)}'`));
  }
  await assert.rejects(m.classify('東京'), TaskMismatchError);
});
