/**
 * The decoders against the Python pipelines' postprocess functions (vectors/postprocess.json.gz:
 * seeded synthetic logits over real encodings) and against the Python NER results on the demo
 * model's exact logits (vectors/model_token_classification.json.gz). Labels, spans and tokens must
 * be identical, scores within 1e-9 (both compute in double: only exp/sum rounding may differ), as
 * the Kotlin PostprocessVectorsTest requires.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readJson, utf16Index } from './support.js';
import { BundleError } from '../src/errors.js';
import { AGGREGATIONS, decodeEntities, tagTokens, type TokenView } from '../src/tasks/token-classification.js';
import { decodeLabels, scoreFunction, type ScoreFunction } from '../src/tasks/text-classification.js';
import { decodeMasks } from '../src/tasks/fill-mask.js';
import { pool, type Pooling } from '../src/tasks/feature-extraction.js';
import { bestWindow, windowStarts, windowed } from '../src/tasks/windows.js';
import type { Entity, Matrix, Offset, TokenTag } from '../src/tasks/results.js';

const SCORE_TOLERANCE = 1e-9;
type Json = Record<string, any>;

/** {"shape", "f32": base64 little-endian float32} -> values. */
function f32(v: Json): Float32Array {
  const bytes = Buffer.from(v.f32 as string, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function matrix(v: Json): Matrix {
  return { data: f32(v), rows: v.shape[0], cols: v.shape[1] };
}

/** A vector case's encoding with its code-point offsets turned into UTF-16 ones. */
function tokenView(c: Json): TokenView {
  const at = utf16Index(c.text);
  return { tokens: c.tokens, offsets: (c.offsets as ([number, number] | null)[]).map((o): Offset => (o ? [at[o[0]], at[o[1]]] : null)) };
}

function assertEntities(text: string, want: Json[], got: Entity[], what: string, tol = SCORE_TOLERANCE): void {
  const at = utf16Index(text);
  assert.deepEqual(got.map((e) => [e.type, e.text, e.start, e.end]), want.map((e) => [e.type, e.text, at[e.start], at[e.end]]), what);
  want.forEach((e, i) => assert.ok(Math.abs(e.score - got[i].score) <= tol, `${what}: score ${got[i].score} vs ${e.score}`));
  for (const e of got) assert.equal(text.slice(e.start, e.end), e.text);
}

function assertTags(text: string, want: Json[], got: TokenTag[], what: string, tol = SCORE_TOLERANCE): void {
  const at = utf16Index(text);
  assert.deepEqual(got.map((t) => [t.entity, t.index, t.word, t.start, t.end]),
    want.map((t) => [t.entity, t.index, t.word, at[t.start], at[t.end]]), what);
  want.forEach((t, i) => assert.ok(Math.abs(t.score - got[i].score) <= tol, `${what}: score ${got[i].score} vs ${t.score}`));
}

/** Every aggregation of one vector case. */
function checkNerCase(c: Json, labels: string[]): number {
  const logits = matrix(c.logits);
  const enc = tokenView(c);
  let entities = 0;
  for (const aggregation of AGGREGATIONS) {
    const want = c.results[aggregation] as Json[];
    const what = `${aggregation}: '${c.text.slice(0, 20)}'`;
    if (aggregation === 'none') {
      assertTags(c.text, want, tagTokens(logits, enc, labels), what);
    } else {
      const got = decodeEntities(logits, enc, c.text, labels, aggregation);
      assertEntities(c.text, want, got, what);
      entities += got.length;
    }
  }
  return entities;
}

const post = readJson('postprocess.json.gz') as Json;

test('token classification: every aggregation on synthetic logits equals Python', () => {
  const cases = post.token_classification as Json[];
  assert.ok(cases.length >= 5);
  for (const c of cases) checkNerCase(c, c.labels);
});

test('token classification: the demo model\'s Python logits decode to Python\'s entities', () => {
  const model = readJson('model_token_classification.json.gz') as Json;
  let entities = 0;
  for (const c of model.cases as Json[]) entities += checkNerCase(c, model.labels);
  assert.ok(entities > 50, `only ${entities} entities: the vectors exercise too little`);
});

test('token classification: logits scoring more labels than named are a BundleError, not a guess', () => {
  // the check of a model that does not declare its output width at open (MobileBertJa.open checks the others)
  const model = readJson('model_token_classification.json.gz') as Json;
  const c = (model.cases as Json[])[0];
  const logits = matrix(c.logits);
  const short = (model.labels as string[]).slice(0, logits.cols - 1);
  const refused = (e: unknown) => e instanceof BundleError &&
    e.message === `the model scores ${logits.cols} labels, labels.json names ${logits.cols - 1}`;
  for (const aggregation of ['simple', 'first', 'average', 'max'] as const) {
    assert.throws(() => decodeEntities(logits, tokenView(c), c.text, short, aggregation), refused, aggregation);
  }
  assert.throws(() => tagTokens(logits, tokenView(c), short), refused, 'none');
});

test('text classification: labels, order on ties and scores equal Python', () => {
  for (const c of post.text_classification as Json[]) {
    const got = decodeLabels(f32(c.logits), c.labels, c.top_k, c.function as ScoreFunction);
    const want = c.results as Json[];
    assert.deepEqual(got.map((l) => l.label), want.map((l) => l.label), JSON.stringify(c.results));
    want.forEach((l, i) => assert.ok(Math.abs(l.score - got[i].score) <= SCORE_TOLERANCE));
  }
  for (const c of post.score_functions as Json[]) assert.equal(scoreFunction(c.config), c.function, JSON.stringify(c.config));
  // a boolean is no label count, in every runtime (Python had read true as 1)
  assert.equal(scoreFunction({ num_labels: true }), 'softmax');
  assert.equal(scoreFunction({ num_labels: 1.0 }), 'sigmoid');
  assert.throws(() => decodeLabels([1, 2], null, 0), /topK must be a positive integer/);
  assert.deepEqual(decodeLabels([0, 5], null, 1).map((l) => l.label), ['LABEL_1']);
});

test('fill-mask: candidates, ties, sequences and scores equal Python', () => {
  for (const c of post.fill_mask as Json[]) {
    const enc = tokenView(c);
    const got = decodeMasks(matrix(c.logits), c.input_ids, enc.offsets, c.text, c.mask_id, (id) => c.vocab[id], c.top_k);
    const want = c.results as Json[][];
    assert.equal(got.length, want.length, c.text);
    want.forEach((mask, m) => {
      assert.deepEqual(got[m].map((f) => [f.token, f.token_str, f.sequence]), mask.map((f) => [f.token, f.token_str, f.sequence]), c.text);
      mask.forEach((f, i) => assert.ok(Math.abs(f.score - got[m][i].score) <= SCORE_TOLERANCE));
    });
  }
});

test('feature extraction: pooled vectors equal Python within 1e-6', () => {
  for (const c of post.feature_extraction as Json[]) {
    const got = pool(matrix(c.hidden), c.pooling as Pooling, c.normalize);
    const want = f32(c.result);
    assert.equal(got.length, want.length);
    want.forEach((x, i) => assert.ok(Math.abs(x - got[i]) <= 1e-6, `${c.pooling} normalize=${c.normalize}: ${got[i]} vs ${x}`));
  }
});

test('windows: starts and the best window of every token equal Python', () => {
  for (const c of post.windows as Json[]) {
    const starts = windowStarts(c.n, c.size, c.stride);
    assert.deepEqual(starts, c.starts, JSON.stringify({ n: c.n, size: c.size, stride: c.stride }));
    assert.deepEqual(bestWindow(c.n, c.size, starts), c.best);
  }
  assert.throws(() => windowStarts(10, 5, 5), /stride/);
});

test('windowed output keeps every token\'s row from its best window', async () => {
  // Each window's row r holds the token id it saw: stitching must give back every id in place.
  const ids = [2, ...Array.from({ length: 23 }, (_, i) => 100 + i), 3];
  const seen: number[][] = [];
  const out = await windowed(ids, 10, 3, async (w) => {
    seen.push(w);
    return { data: Float32Array.from(w), rows: w.length, cols: 1 };
  });
  assert.deepEqual(Array.from(out.data as Float32Array), ids);
  assert.ok(seen.length > 1 && seen.every((w) => w.length === 10 && w[0] === 2 && w[9] === 3));
});
