/**
 * The demo bundle's fp32 ONNX model through BOTH engines against the Python runtime's outputs
 * (vectors/model_token_classification.json.gz): the vector's token ids in, logits out within the
 * rule the vectors carry, max(fp32_max_abs, fp32_max_rel * max|logit|) per text (the rule of
 * `mbja-build verify` and of the Kotlin ModelVectorsTest; docs/bundle-format.md says why), for 50
 * unseen sentences, odd Unicode and two texts long enough for sliding windows. Plus engine
 * selection: what `auto` picks and why, TFLite-only bundles, a model no engine can load.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bundleDir, readJson } from './support.js';
import { Bundle } from '../src/bundle/bundle.js';
import type { Engine, EngineBackend } from '../src/engine/engine.js';
import { openEngine } from '../src/engine/select.js';
import { BundleError, MbjaError } from '../src/errors.js';
import { defaultStride, windowed } from '../src/tasks/windows.js';

type Json = Record<string, any>;
const vectors = readJson('model_token_classification.json.gz') as Json;
const bundle = await Bundle.open(bundleDir());
const engines: Engine[] = [];
after(async () => { for (const e of engines) await e.dispose(); });

function f32(v: Json): Float32Array {
  const bytes = Buffer.from(v.f32 as string, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

test('the vectors were made from this bundle', () => {
  assert.deepEqual(bundle.labels, vectors.labels);
  assert.equal(bundle.maxInputLength, vectors.max_length);
  assert.equal(bundle.manifest.models[0].precision, 'fp32');
});

for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as EngineBackend[]) {
  test(`${backend}: logits of every vector text match Python's within the fp32 rule`, async (t) => {
    const { engine, reason } = await openEngine(bundle, { backend });
    engines.push(engine);
    assert.equal(engine.backend, backend);
    assert.equal(reason, 'asked for');
    const { fp32_max_abs: maxAbs, fp32_max_rel: maxRel } = vectors.tolerance;
    const maxLength = bundle.maxInputLength;
    let worst = 0;
    for (const c of vectors.cases as Json[]) {
      const types = c.token_type_ids as number[];
      const out = await windowed(c.input_ids, maxLength, defaultStride(maxLength), async (ids) => {
        const o = await engine.run(ids, ids.map(() => 1), types.slice(0, ids.length), 1, ids.length);
        assert.deepEqual(o.dims, [1, ids.length, vectors.labels.length]);
        return { data: o.data, rows: ids.length, cols: o.dims[2] };
      });
      const want = f32(c.logits);
      assert.equal(out.rows * out.cols, want.length, `${c.kind}: size`);
      let scale = 0;
      for (const x of want) scale = Math.max(scale, Math.abs(x));
      const tol = Math.max(maxAbs, maxRel * scale);
      let diff = 0;
      for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(want[i] - out.data[i]));
      assert.ok(diff <= tol, `${c.kind} '${c.text.slice(0, 20)}': max |diff| ${diff} > ${tol}`);
      worst = Math.max(worst, diff / tol);
    }
    const kinds = new Set((vectors.cases as Json[]).map((c) => c.kind));
    assert.deepEqual([...kinds].sort(), ['long', 'odd', 'sample']);
    assert.ok((vectors.cases as Json[]).filter((c) => c.kind === 'long').every((c) => c.input_ids.length > maxLength));
    t.diagnostic(`${backend}: the worst text used ${(100 * worst).toFixed(1)} % of its tolerance`);
  });
}

test('auto picks onnxruntime-node under Node and says why', async () => {
  const { engine, reason } = await openEngine(bundle);
  engines.push(engine);
  assert.equal(engine.backend, 'onnxruntime-node');
  assert.match(reason, /Node.*onnxruntime-node/);
  assert.equal(engine.file, 'model.onnx');
  assert.equal(engine.precision, 'fp32');
});

test('a disposed engine refuses to run; bad shapes are refused before the runtime sees them', async () => {
  const { engine } = await openEngine(bundle, { backend: 'onnxruntime-web' });
  await assert.rejects(engine.run([2, 3], [1], [0, 0], 1, 2), MbjaError);
  await engine.dispose();
  await engine.dispose();
  await assert.rejects(engine.run([2, 3], [1, 1], [0, 0], 1, 2), /disposed/);
});

test('a batch of two runs at once and equals two single runs', async () => {
  const { engine } = await openEngine(bundle, { backend: 'onnxruntime-node' });
  engines.push(engine);
  const a = [2, 100, 200, 3];
  const b = [2, 300, 400, 3];
  const both = await engine.run([...a, ...b], Array(8).fill(1), Array(8).fill(0), 2, 4);
  assert.deepEqual(both.dims, [2, 4, 17]);
  const one = await engine.run(b, Array(4).fill(1), Array(4).fill(0), 1, 4);
  const second = both.data.subarray(4 * 17);
  one.data.forEach((x, i) => assert.ok(Math.abs(x - second[i]) <= 1e-4));
});

/** An in-memory bundle: the demo's files with `manifest` changes and `files` replaced or added. */
async function variant(change: (m: Json) => void, files: Record<string, Uint8Array> = {}): Promise<Bundle> {
  const all: Record<string, Uint8Array> = {};
  for (const name of Object.keys(bundle.manifest.files)) all[name] = bundle.file(name);
  Object.assign(all, files);
  const manifest = JSON.parse(JSON.stringify(bundle.manifest)) as Json;
  for (const [name, bytes] of Object.entries(files)) {
    manifest.files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  change(manifest);
  all['manifest.json'] = new TextEncoder().encode(JSON.stringify(manifest));
  return Bundle.open(all);
}

test('a bundle with only a TFLite model is refused: LiteRT.js is not supported yet', async () => {
  const tflite = await variant((m) => {
    m.models = [{ backend: 'tflite', file: 'model.tflite', precision: 'fp32', signatures: [{ name: 'seq_32', length: 32 }] }];
  }, { 'model.tflite': new Uint8Array([1, 2, 3]) });
  assert.equal(tflite.maxInputLength, 32);
  await assert.rejects(openEngine(tflite), (e: unknown) => e instanceof BundleError && /TFLite.*model\.tflite.*LiteRT/.test(e.message) &&
    e.file === 'model.tflite');
});

test('a model no engine can load is an MbjaError naming the engine, the file and the cause', async () => {
  const broken = await variant(() => {}, { 'model.onnx': new TextEncoder().encode('not an onnx model') });
  for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as EngineBackend[]) {
    await assert.rejects(openEngine(broken, { backend }), (e: unknown) =>
      e instanceof MbjaError && e.message.includes(backend) && e.message.includes('model.onnx') && e.cause !== undefined);
  }
});

test('model and backend names are checked', async () => {
  await assert.rejects(openEngine(bundle, { model: 'int8' }), /no ONNX model 'int8'.*model\.onnx fp32/);
  await assert.rejects(openEngine(bundle, { backend: 'tensorflow' as EngineBackend }), /unknown backend/);
  const { engine } = await openEngine(bundle, { model: 'fp32', backend: 'onnxruntime-node' });
  engines.push(engine);
  assert.equal(engine.file, 'model.onnx');
});
