/**
 * manifest.json: the parts the runtime reads, checked as every runtime checks them
 * (docs/bundle-format.md is the specification; runtime_py/mbja_runtime/bundle.py and the Kotlin
 * SDK's Manifest.kt are the other readers). Unknown keys are kept and ignored: the format adds
 * optional keys without a version change.
 */
import { BundleError } from '../errors.js';
import { parseJson, showJson as show } from '../json.js';

export const FORMAT = 'mbja-bundle';
/** The one bundle format version this runtime reads. */
export const FORMAT_VERSION = 1;
export const MANIFEST_FILE = 'manifest.json';

export const TASKS = ['token-classification', 'sequence-classification', 'fill-mask', 'feature-extraction'] as const;
export type Task = (typeof TASKS)[number];

/** One model input or output as the manifest declares it. */
export interface TensorSpec {
  name: string;
  dtype: string;
  shape?: (number | string)[];
}

/** A TFLite signature: a fixed input length. */
export interface SignatureSpec {
  name: string;
  length: number;
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
}

/** One entry of `models`, in the manifest's order. */
export interface ModelSpec {
  /** `onnx` or `tflite`. */
  backend: string;
  file: string;
  /** `fp32`, `dynamic-int8`, `static-int8` or `fp16`. */
  precision: string;
  inputs?: TensorSpec[];
  outputs?: TensorSpec[];
  signatures?: SignatureSpec[];
  [key: string]: unknown;
}

/** Size in bytes and lowercase hex sha256 of one bundle file. */
export interface FileEntry {
  sha256: string;
  size: number;
}

export interface Manifest {
  format: typeof FORMAT;
  format_version: number;
  task: Task;
  /** Longest input in tokens, [CLS] and [SEP] included. */
  max_length: number;
  buckets?: number[];
  quantize?: string;
  tokenizer: string;
  vocab: string;
  labels?: string;
  dictionary?: string;
  models: ModelSpec[];
  /** Every file but manifest.json, by POSIX path relative to the bundle root. */
  files: Record<string, FileEntry>;
  [key: string]: unknown;
}

/** Optional manifest keys that name a file listed in `files` (Python's `FILE_KEYS`; `dictionary` names a directory). */
const FILE_KEYS = ['tokenizer', 'vocab', 'labels'] as const;

/**
 * Parses and checks manifest.json; every error is a BundleError naming `where` (the manifest's location)
 * and the offending key. The checks are Python's `check_manifest` (docs/bundle-format.md, "What a
 * reader requires"), so a hand-edited or foreign manifest is an unusable bundle at open, never a
 * TypeError or a silently wrong result at the first text. Model entries of backends this runtime
 * does not know are checked no further than `backend` and `file`.
 */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  const fail = (message: string): never => {
    throw new BundleError(`${where}: ${message}`, MANIFEST_FILE);
  };
  /** `key` must be `want`: the message names the key and shows the value found. */
  const bad = (key: string, want: string, value: unknown): never =>
    fail(value === undefined ? `${key} is missing; it must be ${want}` : `${key} must be ${want}, not ${show(value)}`);
  const root = parseJson(bytes, MANIFEST_FILE, 'manifest', where);
  if (!isObject(root) || root.format !== FORMAT) return fail(`not an ${FORMAT} manifest`);
  const version = root.format_version;
  if (version !== FORMAT_VERSION) {
    const newer = typeof version === 'number' && Number.isInteger(version) && version > FORMAT_VERSION;
    fail(`bundle format version ${JSON.stringify(version)} is not supported (this runtime reads version ` +
      `${FORMAT_VERSION}); ` + (newer
      ? 'the bundle is newer than this runtime: upgrade mobilebert-ja'
      : 'rebuild the bundle with a matching mbja-build'));
  }
  if (typeof root.task !== 'string' || root.task === '') bad(`'task'`, 'a task name', root.task);
  if (!(TASKS as readonly string[]).includes(root.task as string)) fail(`unknown task '${root.task}'`);
  if (!isInteger(root.max_length) || root.max_length < 2) {
    bad(`'max_length'`, 'an integer >= 2 ([CLS] and [SEP] included)', root.max_length);
  }
  const files = root.files;
  if (!isObject(files) || Object.keys(files).length === 0) return fail(`'files' is missing or empty`);
  for (const [name, meta] of Object.entries(files)) {
    if (!isSafeRelative(name)) fail(`file entry '${name}' points outside the bundle`);
    if (!isObject(meta)) fail(`file entry '${name}' is not an object`);
    const { sha256, size } = meta as Record<string, unknown>;
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) fail(`file entry '${name}' has no sha256`);
    if (!isInteger(size) || size < 0) fail(`file entry '${name}' has no size`);
  }
  const listed = (name: unknown): boolean => typeof name === 'string' && Object.hasOwn(files, name);
  for (const key of FILE_KEYS) {
    if (key in root && !listed(root[key])) bad(`'${key}'`, 'the name of a file the manifest lists', root[key]);
  }
  if ('dictionary' in root && (typeof root.dictionary !== 'string' || root.dictionary === '')) {
    bad(`'dictionary'`, 'a directory name', root.dictionary);
  }
  const models = 'models' in root ? root.models : [];
  if (!Array.isArray(models)) return bad(`'models'`, 'a list', models);
  models.forEach((m: unknown, i) => {
    const at = `models[${i}]`;
    if (!isObject(m) || typeof m.backend !== 'string') bad(at, 'an object with a "backend" name', m);
    const spec = m as Record<string, unknown>;
    if (!listed(spec.file)) bad(`${at}.file`, 'the name of a file the manifest lists', spec.file);
    if (spec.backend === 'tflite') {
      const sigs = spec.signatures;
      if (!Array.isArray(sigs) || sigs.length === 0) bad(`${at}.signatures`, 'a non-empty list', sigs);
      (sigs as unknown[]).forEach((sig, j) => {
        if (!isObject(sig) || typeof sig.name !== 'string' || !isInteger(sig.length) || sig.length < 2) {
          bad(`${at}.signatures[${j}]`, 'an object with a "name" and an integer "length" >= 2', sig);
        }
      });
    }
  });
  return {
    ...root,
    tokenizer: root.tokenizer ?? 'tokenizer.json',
    vocab: root.vocab ?? 'vocab.txt',
    models: (models as ModelSpec[]).map((m) => ({ ...m, precision: m.precision ?? 'fp32' })),
  } as Manifest;
}

/**
 * The longest input, in tokens, that EVERY model of the bundle takes: `max_length`, capped by each
 * TFLite model's largest signature (Python's `max_input_length`). Every runtime truncates or
 * windows to it whichever model runs, so results never depend on the backend chosen.
 */
export function maxInputLength(manifest: Manifest): number {
  let n = manifest.max_length;
  for (const m of manifest.models) {
    if (m.backend === 'tflite' && m.signatures && m.signatures.length > 0) {
      n = Math.min(n, Math.max(...m.signatures.map((s) => s.length)));
    }
  }
  return n;
}

/** A relative POSIX path inside the bundle: no absolute path, drive letter, `..`, empty part or NUL. */
export function isSafeRelative(name: string): boolean {
  if (name.length === 0 || name.startsWith('/') || name.startsWith('\\') || name.includes('\0')) return false;
  if (/^[A-Za-z]:/.test(name)) return false;
  return name.split(/[/\\]/).every((part) => part !== '' && part !== '..');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isInteger(x: unknown): x is number {
  return Number.isInteger(x);
}
