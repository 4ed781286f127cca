/**
 * manifest.json: the parts the runtime reads, checked as every runtime checks them
 * (docs/bundle-format.md is the specification; runtime_py/mbja_runtime/bundle.py and the Kotlin
 * SDK's Manifest.kt are the other readers). Unknown keys are kept and ignored: the format adds
 * optional keys without a version change.
 */
import { BundleError } from '../errors.js';
import { parseJson } from '../json.js';

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

/** Parses and checks manifest.json; every error is a BundleError naming `where` (the manifest's location). */
export function parseManifest(bytes: Uint8Array, where: string): Manifest {
  const bad = (message: string): never => {
    throw new BundleError(`${where}: ${message}`, MANIFEST_FILE);
  };
  const root = parseJson(bytes, MANIFEST_FILE, 'manifest', where);
  if (!isObject(root) || root.format !== FORMAT) return bad(`not an ${FORMAT} manifest`);
  const version = root.format_version;
  if (version !== FORMAT_VERSION) {
    const newer = typeof version === 'number' && Number.isInteger(version) && version > FORMAT_VERSION;
    bad(`bundle format version ${JSON.stringify(version)} is not supported (this runtime reads version ` +
      `${FORMAT_VERSION}); ` + (newer
      ? 'the bundle is newer than this runtime: upgrade mobilebert-ja'
      : 'rebuild the bundle with a matching mbja-build'));
  }
  if (typeof root.task !== 'string') bad(`'task' is missing`);
  if (!(TASKS as readonly string[]).includes(root.task as string)) bad(`unknown task '${root.task}'`);
  if (!Number.isInteger(root.max_length) || (root.max_length as number) < 1) bad(`'max_length' is missing or not a positive integer`);
  const files = root.files;
  if (!isObject(files) || Object.keys(files).length === 0) bad(`'files' is missing or empty`);
  for (const [name, meta] of Object.entries(files as Record<string, unknown>)) {
    if (!isSafeRelative(name)) bad(`file entry '${name}' points outside the bundle`);
    if (!isObject(meta)) bad(`file entry '${name}' is not an object`);
    const { sha256, size } = meta as Record<string, unknown>;
    if (typeof sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(sha256)) bad(`file entry '${name}' has no sha256`);
    if (!Number.isInteger(size) || (size as number) < 0) bad(`file entry '${name}' has no size`);
  }
  const models = root.models ?? [];
  if (!Array.isArray(models)) bad(`'models' must be a list`);
  for (const m of models as unknown[]) {
    if (!isObject(m) || typeof m.file !== 'string' || typeof m.backend !== 'string') {
      bad(`every 'models' entry needs a 'backend' and a 'file'`);
    }
  }
  return {
    ...root,
    tokenizer: typeof root.tokenizer === 'string' ? root.tokenizer : 'tokenizer.json',
    vocab: typeof root.vocab === 'string' ? root.vocab : 'vocab.txt',
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
