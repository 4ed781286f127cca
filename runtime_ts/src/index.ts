/**
 * mobilebert-ja for browsers and Node: a fine-tuned Japanese MobileBERT bundle (docs/bundle-format.md),
 * its tokenizer and an ONNX Runtime engine, in onnxruntime-web's style (async create, explicit dispose).
 *
 * ```ts
 * const m = await MobileBertJa.open('build/demo-bundle');
 * try { console.log(await m.ner('レッドフォックス株式会社は東京都千代田区にある。')); } finally { await m.dispose(); }
 * ```
 *
 * Results equal the Python runtime's pipelines (`mbja_runtime.load(dir)(text)`), with the same keys;
 * offsets are UTF-16 indices into the text as given (`text.slice(start, end)`), where Python counts
 * code points. Each task method throws TaskMismatchError on a bundle built for another task.
 */
import { Bundle, type OpenBundleOptions } from './bundle/bundle.js';
import type { Manifest, Task } from './bundle/manifest.js';
import type { BundleInput } from './bundle/sources.js';
import { checkThreads, type Engine, type EngineBackend, type ModelOutput } from './engine/engine.js';
import { type EngineOptions, openEngine } from './engine/select.js';
import { BundleError, MbjaError, TaskMismatchError, TokenizerError } from './errors.js';
import { type Pooling, pool } from './tasks/feature-extraction.js';
import { decodeMasks } from './tasks/fill-mask.js';
import type { Entity, Filler, Label, Matrix, TokenTag } from './tasks/results.js';
import { type ScoreFunction, decodeLabels, scoreFunction } from './tasks/text-classification.js';
import {
  type Aggregation, type EntityAggregation, checkAggregation, checkLabelCount, decodeEntities, tagTokens,
} from './tasks/token-classification.js';
import { checkStride, defaultStride, windowed } from './tasks/windows.js';
import { positiveInteger } from './tasks/numeric.js';
import { checkOptions, describe } from './options.js';
import { type EncodeOptions, type Encoding, Tokenizer } from './tokenizer/index.js';

export { Bundle, type OpenBundleOptions } from './bundle/bundle.js';
export { FORMAT_VERSION, TASKS, maxInputLength, type Manifest, type ModelSpec, type Task } from './bundle/manifest.js';
export type { BundleCache, BundleFiles, BundleInput } from './bundle/sources.js';
export { MAX_THREADS, type Engine, type EngineBackend, type ModelOutput } from './engine/engine.js';
export type { BackendChoice, EngineOptions } from './engine/select.js';
export { BundleError, MbjaError, TaskMismatchError, TokenizerError } from './errors.js';
export { AGGREGATIONS, type Aggregation, type EntityAggregation } from './tasks/token-classification.js';
export { POOLINGS, type Pooling } from './tasks/feature-extraction.js';
export type { ScoreFunction } from './tasks/text-classification.js';
export type { Entity, Filler, Label, Offset, TokenTag } from './tasks/results.js';
export { Tokenizer, type EncodeOptions, type Encoding, type TokenizerFiles } from './tokenizer/index.js';

export interface OpenOptions extends OpenBundleOptions, EngineOptions {}

export interface NerOptions {
  /** Default `'simple'`; `'none'` returns per-token tags. */
  aggregation?: Aggregation;
  /** Overlap of the windows that cover a text longer than the model takes; default min(32, (maxLength - 2) / 2). */
  stride?: number;
  /** Labels that are no entity; default `['O']`. */
  ignoreLabels?: string[];
}

export interface ClassifyOptions {
  /** How many labels, best first; default 1, null = every label. */
  topK?: number | null;
  textPair?: string | null;
  /** Default from config.json: sigmoid for multi-label or single-output models, else softmax. */
  function?: ScoreFunction;
}

export interface FillMaskOptions {
  /** Candidates per [MASK]; default 5. */
  topK?: number;
}

export interface EmbedOptions {
  /** Default `'cls'`. */
  pooling?: Pooling;
  /** L2-normalise the vector; default false. */
  normalize?: boolean;
}

export class MobileBertJa {
  private constructor(
    readonly bundle: Bundle,
    readonly tokenizer: Tokenizer,
    private readonly engine: Engine,
    /** Why `backend` runs (e.g. "running in Node and onnxruntime-node is installed"). */
    readonly backendReason: string,
  ) {}

  /**
   * Opens a bundle: a directory path (Node), a base URL, or an object of its files by name. Every
   * file's size and (unless `verify: false`) sha256 is checked before anything loads.
   *
   * @throws BundleError naming the missing, truncated, tampered or unsupported file, or the
   *   malformed manifest key, labels.json, tokenizer setting or empty vocabulary (docs/bundle-format.md,
   *   "What a reader requires"); a labelled task's bundle without labels.json.
   * @throws MbjaError when no engine can be imported or create the model's session.
   */
  static async open(source: BundleInput, options: OpenOptions | null = {}): Promise<MobileBertJa> {
    // a typo fails before the bundle is fetched and hashed
    options = checkOptions(options, OPEN_OPTIONS, 'MobileBertJa.open');
    checkThreads(options.numThreads);
    const bundle = await Bundle.open(source, options);
    checkTaskFiles(bundle);
    const tokenizer = loadTokenizer(bundle);
    const { engine, reason } = await openEngine(bundle, options);
    try { // where the model declares its output width, a wrong label count fails here, not at every text
      if (LABELLED_TASKS.includes(bundle.task) && engine.outputWidth !== null) {
        checkLabelCount(engine.outputWidth, requireLabels(bundle).length, bundle.manifest.labels);
      }
    } catch (e) {
      await engine.dispose();
      throw e;
    }
    return new MobileBertJa(bundle, tokenizer, engine, reason);
  }

  get manifest(): Manifest {
    return this.bundle.manifest;
  }

  /** The task the bundle's model was built for. */
  get task(): Task {
    return this.bundle.task;
  }

  /** The engine that runs the model. */
  get backend(): EngineBackend {
    return this.engine.backend;
  }

  /** The running model's precision (`fp32`, `dynamic-int8`, ...). */
  get precision(): string {
    return this.engine.precision;
  }

  /** Longest input in tokens, [CLS] and [SEP] included (Python's `max_length`). */
  get maxLength(): number {
    return this.bundle.maxInputLength;
  }

  /**
   * Named entities (token-classification bundles); per-token tags with `aggregation: 'none'`.
   * Texts longer than `maxLength` are covered by overlapping windows, never cut.
   */
  async ner(text: string, options: NerOptions & { aggregation: 'none' }): Promise<TokenTag[]>;
  async ner(text: string, options?: NerOptions & { aggregation?: EntityAggregation }): Promise<Entity[]>;
  async ner(text: string, options?: NerOptions | null): Promise<Entity[] | TokenTag[]>;
  async ner(text: string, options: NerOptions | null = {}): Promise<Entity[] | TokenTag[]> {
    this.expect('token-classification');
    options = checkOptions(options, ['aggregation', 'stride', 'ignoreLabels'], 'ner');
    const aggregation = checkAggregation(options.aggregation === undefined ? 'simple' : options.aggregation);
    const stride = options.stride === undefined ? defaultStride(this.maxLength) : checkStride(options.stride, this.maxLength - 2);
    const ignore = options.ignoreLabels === undefined ? undefined : checkLabelNames(options.ignoreLabels);
    const enc = this.encode(text, { truncation: false });
    const types = enc.tokenTypeIds;
    const logits = await windowed(enc.inputIds, this.maxLength, stride,
      (ids) => this.run(ids, ids.map(() => 1), types.slice(0, ids.length)));
    const labels = this.labels(logits.cols);
    if (aggregation === 'none') return tagTokens(logits, enc, labels, ignore);
    return decodeEntities(logits, enc, text, labels, aggregation, ignore);
  }

  /** The best labels with probabilities (sequence-classification bundles); long texts are truncated. */
  async classify(text: string, options: ClassifyOptions | null = {}): Promise<Label[]> {
    this.expect('sequence-classification');
    options = checkOptions(options, ['topK', 'textPair', 'function'], 'classify');
    const pair = options.textPair;
    if (pair !== undefined && pair !== null && typeof pair !== 'string') {
      throw new MbjaError(`textPair must be a string or null, not ${describe(pair)}`);
    }
    const enc = this.encode(text, { pair: options.textPair ?? null, maxLength: this.maxLength, truncation: true });
    const out = await this.run(enc.inputIds, enc.attentionMask, enc.tokenTypeIds, true);
    const labels = this.labels(out.cols);
    const fn = options.function ?? scoreFunction(readConfig(this.bundle));
    return decodeLabels(out.data, labels, options.topK === undefined ? 1 : options.topK, fn);
  }

  /**
   * For every [MASK] in `text`, the most likely tokens (fill-mask bundles): one list per mask, in
   * text order. A text without [MASK], or with one beyond `maxLength`, is an MbjaError.
   */
  async fillMask(text: string, options: FillMaskOptions | null = {}): Promise<Filler[][]> {
    this.expect('fill-mask');
    options = checkOptions(options, ['topK'], 'fillMask');
    const topK = options.topK === undefined ? 5 : positiveInteger(options.topK, 'topK');
    const maskId = this.tokenizer.maskId;
    const mask = this.tokenizer.idToToken(maskId);
    let enc = this.encode(text, { truncation: false });
    const last = enc.inputIds.lastIndexOf(maskId);
    if (last < 0) throw new MbjaError(`no ${mask} in the text: fill-mask needs at least one`);
    if (last >= this.maxLength - 1) {
      throw new MbjaError(`${mask} at token ${last} lies beyond the model's ${this.maxLength} tokens; shorten the text before it`);
    }
    if (enc.inputIds.length > this.maxLength) enc = this.encode(text, { maxLength: this.maxLength, truncation: true });
    const logits = await this.run(enc.inputIds, enc.attentionMask, enc.tokenTypeIds);
    return decodeMasks(logits, enc.inputIds, enc.offsets, text, maskId, (id) => this.tokenizer.idToToken(id), topK);
  }

  /** One vector for `text` (feature-extraction bundles); long texts are truncated. */
  async embed(text: string, options: EmbedOptions | null = {}): Promise<Float32Array> {
    this.expect('feature-extraction');
    options = checkOptions(options, ['pooling', 'normalize'], 'embed');
    if (options.normalize !== undefined && typeof options.normalize !== 'boolean') {
      throw new MbjaError(`normalize must be true or false, not ${describe(options.normalize)}`);
    }
    const enc = this.encode(text, { maxLength: this.maxLength, truncation: true });
    const hidden = await this.run(enc.inputIds, enc.attentionMask, enc.tokenTypeIds);
    return pool(hidden, options.pooling ?? 'cls', options.normalize ?? false);
  }

  /** Releases the model's session. Idempotent; task calls afterwards throw MbjaError. */
  async dispose(): Promise<void> {
    await this.engine.dispose();
  }

  toString(): string {
    return `MobileBertJa(${this.bundle.location}, ${this.task}, ${this.backend} ${this.precision})`;
  }

  private expect(task: Task): void {
    if (this.task !== task) throw new TaskMismatchError(task, this.task);
  }

  /**
   * The labels, for a model output scoring `scored` of them: more than labels.json names is a
   * BundleError (found at `open` already where the model declares its output width).
   */
  private labels(scored: number): string[] {
    const labels = requireLabels(this.bundle);
    checkLabelCount(scored, labels.length, this.bundle.manifest.labels);
    return labels;
  }

  private encode(text: string, options: EncodeOptions): Encoding {
    if (typeof text !== 'string') throw new MbjaError(`text must be a string, not ${typeof text}`);
    return this.tokenizer.encode(text, options);
  }

  /** One sequence through the engine, as a Matrix: one row per token, or one row for a pooled output. */
  private async run(inputIds: number[], attentionMask: number[], tokenTypeIds: number[], pooled = false): Promise<Matrix> {
    const out = await this.engine.run(inputIds, attentionMask, tokenTypeIds, 1, inputIds.length);
    return sequenceOf(out, inputIds.length, pooled);
  }
}

/** Batch row 0 of `out`: `[1, seq, dim]` for token-level outputs, `[1, dim]` for pooled ones. */
function sequenceOf(out: ModelOutput, seq: number, pooled: boolean): Matrix {
  const { dims, data } = out;
  if (pooled && dims.length === 2) return { data, rows: 1, cols: dims[1] };
  if (!pooled && dims.length === 3 && dims[1] === seq) return { data, rows: seq, cols: dims[2] };
  throw new MbjaError(`unexpected model output shape [${dims.join(', ')}] for ${seq} tokens ` +
    `(${pooled ? 'one pooled row' : 'one row per token'} expected)`);
}

/** What `open` takes: `OpenBundleOptions` and `EngineOptions`. */
const OPEN_OPTIONS = ['verify', 'cache', 'backend', 'model', 'numThreads'] as const;

/** `ignoreLabels` as the decoders take it: an array of label names (a string would be a set of characters). */
function checkLabelNames(names: unknown): string[] {
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new MbjaError(`ignoreLabels must be an array of label names (e.g. ['O']), not ${describe(names)}`);
  }
  return names;
}

/** The tasks whose results are named by labels.json. */
const LABELLED_TASKS: readonly Task[] = ['token-classification', 'sequence-classification'];

/**
 * What the bundle's task needs besides the model and the tokenizer, read at open (Python's
 * `Pipeline._check_bundle`): labels.json for the labelled tasks (parsed and checked by
 * `Bundle.open`), config.json for sequence classification. A bundle lacking them is unusable, so it
 * fails here, not at every text.
 */
function checkTaskFiles(bundle: Bundle): void {
  if (LABELLED_TASKS.includes(bundle.task)) requireLabels(bundle);
  if (bundle.task === 'sequence-classification') readConfig(bundle);
}

function requireLabels(bundle: Bundle): string[] {
  if (bundle.labels === null) {
    throw new BundleError(`bundle ${bundle.location} has no labels.json; a ${bundle.task} bundle needs one`, 'manifest.json');
  }
  return bundle.labels;
}

/** The source checkpoint's transformers config (config.json), {} when the bundle has none; not an object: BundleError. */
function readConfig(bundle: Bundle): Record<string, unknown> {
  if (!bundle.has('config.json')) return {};
  const config = bundle.json('config.json');
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new BundleError(`config.json in ${bundle.location} is not a JSON object`, 'config.json');
  }
  return config as Record<string, unknown>;
}

/** The bundle's tokenizer; its files were size- and sha256-checked at open, so the dictionary's CRC pass is skipped. */
function loadTokenizer(bundle: Bundle): Tokenizer {
  const { vocab, tokenizer, dictionary = 'dictionary' } = bundle.manifest;
  try {
    return Tokenizer.fromFiles({
      vocab: bundle.file(vocab),
      settings: bundle.json(tokenizer),
      dictionary: (name) => bundle.file(`${dictionary}/${name}`),
    }, { verifyChecksums: false });
  } catch (e) {
    if (!(e instanceof TokenizerError)) throw e;
    throw new BundleError(`cannot load the tokenizer of ${bundle.location}: ${e.message}`, tokenizer, { cause: e });
  }
}
