/**
 * What a reader requires of a bundle (docs/bundle-format.md, "What a reader requires"; Python's
 * `bundle.check_manifest`, `Bundle.id2label`, `Tokenizer.__init__`): a malformed manifest key,
 * labels.json, tokenizer setting or an empty vocabulary is refused when the bundle is OPENED, with
 * a BundleError naming the key or file -- never a fallback to a default, a TypeError or a wrong
 * result at the first text. Each case edits a copy of the demo bundle: its manifest, or one file
 * rewritten and re-hashed into the manifest (sha256 and size), so only the edit is wrong.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleDir } from './support.js';
import { Bundle } from '../src/bundle/bundle.js';
import { BundleError } from '../src/errors.js';
import { MobileBertJa } from '../src/index.js';

type Json = Record<string, any>;
const demo = bundleDir();
const root = await mkdtemp(join(tmpdir(), 'mbja-bundle-checks-'));
after(() => rm(root, { recursive: true, force: true }));
let copies = 0;
const TEXT = 'レッドフォックス株式会社は東京都千代田区にある。';

/** A fresh copy of the demo bundle. */
async function copy(): Promise<string> {
  const dir = join(root, `b${copies++}`);
  await cp(demo, dir, { recursive: true });
  return dir;
}

const original = JSON.parse(await readFile(join(demo, 'manifest.json'), 'utf8')) as Json;

/** Writes the demo's manifest, changed by `change`, into `dir` (every case starts from the original). */
async function setManifest(dir: string, change: (m: Json) => void = () => {}): Promise<void> {
  const manifest = structuredClone(original);
  change(manifest);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
}

/** Replaces bundle file `name` of `dir` by `content` and re-hashes it into the manifest, changed by `change`. */
async function rewrite(dir: string, name: string, content: string | Uint8Array, change: (m: Json) => void = () => {}):
  Promise<void> {
  await rewriteAll(dir, { [name]: content }, change);
}

/** `rewrite` for several files at once. */
async function rewriteAll(dir: string, files: Record<string, string | Uint8Array>, change: (m: Json) => void = () => {}):
  Promise<void> {
  const entries: Record<string, { sha256: string; size: number }> = {};
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    await writeFile(join(dir, name), bytes);
    entries[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length };
  }
  await setManifest(dir, (m) => {
    Object.assign(m.files, entries);
    change(m);
  });
}

/** Restores file `name` of `dir` from the demo bundle. */
async function restore(dir: string, name: string): Promise<void> {
  await writeFile(join(dir, name), await readFile(join(demo, name)));
}

/** MobileBertJa.open, disposed at once (what opening checks, without keeping the session). */
async function openAndDispose(dir: string): Promise<MobileBertJa> {
  const m = await MobileBertJa.open(dir);
  await m.dispose();
  return m;
}

/** Asserts that `opening` rejects with a BundleError for `file` whose message contains every one of `words`. */
async function refused(opening: Promise<unknown>, file: string, words: string[], what: string): Promise<void> {
  await assert.rejects(opening, (e: unknown) => {
    assert.ok(e instanceof BundleError, `${what}: not a BundleError: ${e}`);
    assert.equal(e.file, file, `${what}: ${e.message}`);
    for (const w of words) assert.ok(e.message.includes(w), `${what}: '${w}' not in: ${e.message}`);
    return true;
  }, what);
}

test('control: the unedited copy opens, and its manifest re-written as these tests write it', async () => {
  const dir = await copy();
  const b = await Bundle.open(dir);
  assert.equal(b.labels?.length, 17);
  await setManifest(dir);
  const m = await MobileBertJa.open(dir);
  try {
    assert.deepEqual((await m.ner(TEXT)).map((e) => e.text), ['レッドフォックス株式会社', '東京都千代田区']);
  } finally {
    await m.dispose();
  }
});

/** Manifest edits that Bundle.open refuses, each with the key its message must name. */
const BAD_MANIFESTS: [string, (m: Json) => void, string][] = [
  ['task empty', (m) => { m.task = ''; }, `'task'`],
  ['task a number', (m) => { m.task = 5; }, `'task'`],
  ['task missing', (m) => { delete m.task; }, `'task'`],
  ['max_length 1', (m) => { m.max_length = 1; }, `'max_length'`],
  ['max_length 0', (m) => { m.max_length = 0; }, `'max_length'`],
  ['max_length 1.5', (m) => { m.max_length = 1.5; }, `'max_length'`],
  ['max_length a string', (m) => { m.max_length = '512'; }, `'max_length'`],
  ['files empty', (m) => { m.files = {}; }, `'files'`],
  ['files a list', (m) => { m.files = [m.files['model.onnx']]; }, `'files'`],
  ['a file without sha256', (m) => { m.files['NOTICE'].sha256 = 'abc'; }, `'NOTICE'`],
  ['a file of negative size', (m) => { m.files['NOTICE'].size = -1; }, `'NOTICE'`],
  ['tokenizer null', (m) => { m.tokenizer = null; }, `'tokenizer'`],
  ['tokenizer not listed', (m) => { m.tokenizer = 'other.json'; }, `'tokenizer'`],
  ['vocab a number', (m) => { m.vocab = 5; }, `'vocab'`],
  ['vocab not listed', (m) => { m.vocab = 'vocab2.txt'; }, `'vocab'`],
  ['labels a number', (m) => { m.labels = 5; }, `'labels'`],
  ['labels null', (m) => { m.labels = null; }, `'labels'`],
  ['labels not listed', (m) => { m.labels = 'labels2.json'; }, `'labels'`],
  ['labels an inherited property name', (m) => { m.labels = 'toString'; }, `'labels'`],
  ['dictionary empty', (m) => { m.dictionary = ''; }, `'dictionary'`],
  ['dictionary a number', (m) => { m.dictionary = 1; }, `'dictionary'`],
  ['models null', (m) => { m.models = null; }, `'models'`],
  ['models an object', (m) => { m.models = m.models[0]; }, `'models'`],
  ['a model entry not an object', (m) => { m.models = [5]; }, 'models[0]'],
  ['a model entry without backend', (m) => { delete m.models[0].backend; }, 'models[0]'],
  ['a model file not listed', (m) => { m.models[0].file = 'model2.onnx'; }, 'models[0].file'],
  ['a model file missing', (m) => { delete m.models[0].file; }, 'models[0].file'],
  ['an unknown backend\'s file not listed', (m) => { m.models.push({ backend: 'coreml', file: 'model.mlpackage' }); },
    'models[1].file'],
  ['a tflite entry without signatures', (m) => { m.models.push({ backend: 'tflite', file: 'model.onnx' }); },
    'models[1].signatures'],
  ['a tflite entry with no signature', (m) => { m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [] }); },
    'models[1].signatures'],
  ['a signature of length 1', (m) => {
    m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [{ name: 'seq_1', length: 1 }] });
  }, 'models[1].signatures[0]'],
  ['a signature without name', (m) => {
    m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [{ name: 'seq_32', length: 32 }, { length: 64 }] });
  }, 'models[1].signatures[1]'],
  ['a signature length as a string', (m) => {
    m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [{ name: 'seq_32', length: '32' }] });
  }, 'models[1].signatures[0]'],
  ['a signature not an object', (m) => {
    m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [32] });
  }, 'models[1].signatures[0]'],
];

test('a malformed manifest key is refused at open, naming the key', async () => {
  const dir = await copy();
  for (const [what, change, key] of BAD_MANIFESTS) {
    await setManifest(dir, change);
    await refused(Bundle.open(dir), 'manifest.json', [key, 'manifest.json'], what);
    await refused(MobileBertJa.open(dir), 'manifest.json', [key], what);
  }
});

test('control: absent optional keys keep their defaults; other backends are checked no further', async () => {
  const dir = await copy();
  await setManifest(dir, (m) => { delete m.tokenizer; delete m.vocab; delete m.dictionary; });
  let b = await Bundle.open(dir, { verify: false });
  assert.equal(b.manifest.tokenizer, 'tokenizer.json');
  assert.equal(b.manifest.vocab, 'vocab.txt');
  assert.equal((await openAndDispose(dir)).tokenizer.vocabSize > 0, true);
  await setManifest(dir, (m) => { m.max_length = 2; });
  assert.equal((await Bundle.open(dir, { verify: false })).maxInputLength, 2);
  await setManifest(dir, (m) => {
    m.models.push({ backend: 'tflite', file: 'model.onnx', signatures: [{ name: 'seq_128', length: 128 }, { name: 'seq_64', length: 64 }] });
    m.models.push({ backend: 'coreml', file: 'model.onnx', signatures: 'whatever', anything: [1] });
  });
  b = await Bundle.open(dir, { verify: false });
  assert.equal(b.maxInputLength, 128);
  assert.equal(b.manifest.models.length, 3);
  await setManifest(dir, (m) => { delete m.models[0].outputs; });         // outputs stay optional: the session's first
  const m = await MobileBertJa.open(dir, { verify: false });
  try {
    assert.equal((await m.ner(TEXT)).length, 2);
  } finally {
    await m.dispose();
  }
});

/** labels.json contents Bundle.open refuses. */
const BAD_LABELS: [string, string][] = [
  ['an empty object', '{}'],
  ['a list', '["O", "B-人名"]'],
  ['a string', '"O"'],
  ['an id missing', '{"0": "O", "2": "B-人名"}'],
  ['ids not from 0', '{"1": "O", "2": "B-人名"}'],
  ['an id not a number', '{"0": "O", "x": "B-人名"}'],
  ['a negative id', '{"0": "O", "-1": "B-人名"}'],
  ['an id twice', '{"0": "O", "00": "B-人名"}'],
  ['a label not a string', '{"0": "O", "1": 1}'],
  ['a label null', '{"0": null}'],
  ['not JSON', '{"0": "O",'],
];

test('labels.json must map exactly the ids 0..n-1 to strings, n >= 1; a labelled task needs it', async () => {
  const dir = await copy();
  for (const [what, content] of BAD_LABELS) {
    await rewrite(dir, 'labels.json', content);
    await refused(Bundle.open(dir), 'labels.json', ['labels.json'], what);
    for (const task of ['token-classification', 'sequence-classification']) {
      await rewrite(dir, 'labels.json', content, (m) => { m.task = task; });
      await refused(MobileBertJa.open(dir, { verify: false }), 'labels.json', ['labels.json'], `${what} (${task})`);
    }
  }
  await restore(dir, 'labels.json');
  for (const task of ['token-classification', 'sequence-classification']) {
    await setManifest(dir, (m) => { m.task = task; delete m.labels; });
    assert.equal((await Bundle.open(dir, { verify: false })).labels, null);
    await refused(MobileBertJa.open(dir), 'manifest.json', ['labels.json', task], `no labels (${task})`);
  }
  // control: a task without labels opens without them; the same labels, written otherwise, open
  await setManifest(dir, (m) => { m.task = 'fill-mask'; delete m.labels; });
  await openAndDispose(dir);
  const labels = JSON.parse(await readFile(join(demo, 'labels.json'), 'utf8')) as Record<string, string>;
  const reordered = Object.fromEntries(Object.entries(labels).reverse());
  await rewrite(dir, 'labels.json', JSON.stringify(reordered));
  assert.deepEqual((await Bundle.open(dir)).labels, Object.values(labels));
});

test('config.json of a sequence-classification bundle must be a JSON object', async () => {
  const dir = await copy();
  for (const content of ['[]', '3', '{"num_labels": ']) {
    await rewrite(dir, 'config.json', content, (m) => { m.task = 'sequence-classification'; });
    await refused(MobileBertJa.open(dir), 'config.json', ['config.json'], content);
  }
});

/** tokenizer.json edits MobileBertJa.open refuses, each with the setting its message must name. */
const BAD_SETTINGS: [Json, string][] = [
  ...['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'].flatMap((key): [Json, string][] =>
    [[{ [key]: '' }, key], [{ [key]: null }, key], [{ [key]: 3 }, key]]),
  [{ max_input_chars_per_word: 0 }, 'max_input_chars_per_word'],
  [{ max_input_chars_per_word: -1 }, 'max_input_chars_per_word'],
  [{ max_input_chars_per_word: 1.5 }, 'max_input_chars_per_word'],
  [{ max_input_chars_per_word: null }, 'max_input_chars_per_word'],
  [{ max_input_chars_per_word: '100' }, 'max_input_chars_per_word'],
  [{ model_max_length: 0 }, 'model_max_length'],
  [{ model_max_length: -512 }, 'model_max_length'],
  [{ model_max_length: 0.5 }, 'model_max_length'],
  [{ model_max_length: '512' }, 'model_max_length'],
  [{ model_max_length: true }, 'model_max_length'],
];

test('tokenizer.json: special tokens non-empty strings, positive lengths; an empty vocabulary', async () => {
  const dir = await copy();
  const settings = JSON.parse(await readFile(join(demo, 'tokenizer.json'), 'utf8')) as Json;
  for (const [edit, key] of BAD_SETTINGS) {
    await rewrite(dir, 'tokenizer.json', JSON.stringify({ ...settings, ...edit }));
    await refused(MobileBertJa.open(dir), 'tokenizer.json', ['tokenizer.json', key], JSON.stringify(edit));
  }
  await restore(dir, 'tokenizer.json');
  await rewrite(dir, 'vocab.txt', '');
  await refused(MobileBertJa.open(dir), 'vocab.txt', ['vocab.txt', 'the vocabulary is empty'], 'empty vocab.txt');
  await restore(dir, 'vocab.txt');
  // control: no limit (null, transformers' 1e30 sentinel), and a settings file of defaults only
  for (const [edit, limit] of [[{ model_max_length: null }, Number.MAX_SAFE_INTEGER],
    [{ model_max_length: 1e30 }, Number.MAX_SAFE_INTEGER], [{ model_max_length: 128.0 }, 128]] as [Json, number][]) {
    await rewrite(dir, 'tokenizer.json', JSON.stringify({ ...settings, ...edit }));
    assert.equal((await openAndDispose(dir)).tokenizer.modelMaxLength, limit, JSON.stringify(edit));
  }
  await rewrite(dir, 'tokenizer.json', '{}');
  assert.equal((await openAndDispose(dir)).tokenizer.modelMaxLength, 512);
});

test('token classification: a model scoring more labels than labels.json names is an unusable bundle', async () => {
  const dir = await copy();
  const labels = JSON.parse(await readFile(join(demo, 'labels.json'), 'utf8')) as Record<string, string>;
  const fewer = Object.fromEntries(Object.entries(labels).filter(([id]) => id !== '16'));
  await rewrite(dir, 'labels.json', JSON.stringify(fewer));
  // ONNX Runtime declares the output's width, so open refuses it (before: every text did)
  for (const backend of ['onnxruntime-node', 'onnxruntime-web'] as const) {
    await refused(MobileBertJa.open(dir, { backend }), 'labels.json', ['the model scores 17 labels, labels.json names 16'],
      backend);
  }
  // control: more names than the model scores is allowed (as in Python): the extra label is never chosen
  await rewrite(dir, 'labels.json', JSON.stringify({ ...labels, 17: 'B-unused' }));
  const more = await MobileBertJa.open(dir);
  try {
    assert.deepEqual((await more.ner(TEXT)).map((e) => [e.type, e.text]), [['法人名', 'レッドフォックス株式会社'], ['地名', '東京都千代田区']]);
    assert.ok((await more.ner(TEXT, { aggregation: 'average' })).length > 0);
  } finally {
    await more.dispose();
  }
});

test('sequence classification: a model scoring more labels than labels.json names is an unusable bundle', async () => {
  const dir = await copy();
  const classifier = async (labels: string[], width: number | string = 3): Promise<MobileBertJa> => {
    const model = constantModel([0.1, 2, 0.3], width);          // logits [1, 3] whatever the input
    await rewriteAll(dir, { 'labels.json': JSON.stringify(Object.fromEntries(labels.map((l, i) => [i, l]))), 'model.onnx': model },
      (m) => { m.task = 'sequence-classification'; });
    return MobileBertJa.open(dir, { backend: 'onnxruntime-node' });
  };
  await refused(classifier(['negative', 'positive']), 'labels.json', ['the model scores 3 labels, labels.json names 2'], 'open');
  // a model that does not declare its width: the first output tells
  const two = await classifier(['negative', 'positive'], 'labels');
  try {
    await refused(two.classify(TEXT), 'labels.json', ['the model scores 3 labels, labels.json names 2'], 'classify');
    await refused(two.classify(TEXT, { topK: null }), 'labels.json', ['the model scores 3 labels'], 'classify topK null');
  } finally {
    await two.dispose();
  }
  const three = await classifier(['negative', 'neutral', 'positive']);        // control
  try {
    assert.equal((await three.classify(TEXT))[0].label, 'neutral');
  } finally {
    await three.dispose();
  }
});

/**
 * A minimal ONNX model: input `input_ids` (int64, [batch, sequence], unused), output `logits`, a
 * Constant float tensor [1, values.length] -- a sequence classifier without training one. Its output
 * is declared [1, width]: a string width is a symbolic axis, as a model that does not declare it.
 */
function constantModel(values: number[], width: number | string = values.length): Uint8Array {
  const varint = (n: number): number[] => {
    const out: number[] = [];
    for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
    out.push(n);
    return out;
  };
  const int = (field: number, v: number) => [...varint(field * 8), ...varint(v)];
  const msg = (field: number, payload: number[]) => [...varint(field * 8 + 2), ...varint(payload.length), ...payload];
  const str = (field: number, s: string) => msg(field, [...new TextEncoder().encode(s)]);
  const shape = (dims: (number | string)[]) => msg(2, dims.flatMap((d) => msg(1, typeof d === 'number' ? int(1, d) : str(2, d))));
  const valueInfo = (field: number, name: string, elemType: number, dims: (number | string)[]) =>
    msg(field, [...str(1, name), ...msg(2, msg(1, [...int(1, elemType), ...shape(dims)]))]);
  const raw = [...new Uint8Array(new Float32Array(values).buffer)];
  const constant = (output: string, tensor: number[]) =>
    msg(1, [...str(2, output), ...str(4, 'Constant'), ...msg(5, [...str(1, 'value'), ...msg(5, tensor), ...int(20, 4 /* TENSOR */)])]);
  const scores = [...int(1, 1), ...int(1, values.length), ...int(2, 1 /* FLOAT */), ...msg(9, raw)];
  // A declared width is a plain Constant, whose shape ONNX Runtime infers whatever the declaration;
  // a symbolic one goes through Compress (all kept), whose output width depends on data.
  const nodes = typeof width === 'number' ? constant('logits', scores) : [
    ...constant('scores', scores),
    ...constant('keep', [...int(1, values.length), ...int(2, 9 /* BOOL */), ...msg(9, values.map(() => 1))]),
    ...msg(1, [...str(1, 'scores'), ...str(1, 'keep'), ...str(2, 'logits'), ...str(4, 'Compress'),
      ...msg(5, [...str(1, 'axis'), ...int(3, 1), ...int(20, 2 /* INT */)])]),
  ];
  const graph = [...nodes, ...str(2, 'constant'), ...valueInfo(11, 'input_ids', 7 /* INT64 */, ['batch', 'sequence']),
    ...valueInfo(12, 'logits', 1 /* FLOAT */, [1, width])];
  return new Uint8Array([...int(1, 8 /* ir_version */), ...msg(7, graph), ...msg(8, [...str(1, ''), ...int(2, 13)])]);
}
