/**
 * An opened bundle: the checked manifest, every listed file in memory, and the labels.
 *
 * `Bundle.open` checks format, format version and every listed file's existence, size and (by
 * default) sha256 before anything is loaded, as the Python and Kotlin readers do, so a truncated
 * copy, a tampered model and a bundle of a newer format are each refused with a BundleError whose
 * `file` is the offending file's manifest-relative name. Files are kept in memory because every
 * one of them is needed (model bytes for the engine, dictionary and vocabulary for the tokenizer)
 * and a browser has no file system to re-read them from (a URL bundle can keep them in the Cache API
 * between visits: the `cache` option).
 */
import { BundleError, MbjaError } from '../errors.js';
import { describe } from '../options.js';
import { parseJson } from '../json.js';
import { type FileEntry, MANIFEST_FILE, type Manifest, type Task, maxInputLength, parseManifest } from './manifest.js';
import { type BundleCache, type BundleInput, type BundleSource, sourceOf } from './sources.js';
import { sha256Hex } from './sha256.js';

export interface OpenBundleOptions {
  /** Check every file's sha256 (default true; sizes are always checked). The demo bundle hashes ~72 MB. */
  verify?: boolean;
  /**
   * URL bundles: keep the files in this cache (`await caches.open('mbja')` in a browser) and read
   * them from it next time. Files are cached under their URL and manifest sha256, so a rebuilt
   * bundle downloads only its changed files; the manifest itself is fetched (revalidated) on every
   * open, and cached files are size- and sha256-checked like downloaded ones. With `verify: false`
   * files are cached once their size matches. Ignored for directories and in-memory files.
   */
  cache?: BundleCache;
}

export class Bundle {
  /** Label names by id (labels.json), or null for tasks without labels. */
  readonly labels: string[] | null;

  private constructor(
    readonly manifest: Manifest,
    /** The directory, base URL or "in-memory bundle", as messages name it. */
    readonly location: string,
    private readonly files: Map<string, Uint8Array>,
  ) {
    this.labels = manifest.labels !== undefined ? readLabels(this.file(manifest.labels), manifest.labels) : null;
  }

  static async open(input: BundleInput, options: OpenBundleOptions | null = {}): Promise<Bundle> {
    options ??= {};
    if (options.verify !== undefined && typeof options.verify !== 'boolean') {
      throw new MbjaError(`verify must be true or false, not ${describe(options.verify)}`);
    }
    const source = await sourceOf(input, options.cache);
    const raw = await source.read(MANIFEST_FILE);
    if (raw === undefined) throw new BundleError(`not a bundle: ${where(source, MANIFEST_FILE)} is missing`, MANIFEST_FILE);
    const manifest = parseManifest(raw, where(source, MANIFEST_FILE));
    const entries = Object.entries(manifest.files);
    const verify = options.verify !== false;
    const files = await Promise.all(entries.map(async ([name, entry]) => [name, await readFile(source, name, entry, verify)] as const));
    return new Bundle(manifest, source.location, new Map(files));
  }

  get task(): Task {
    return this.manifest.task;
  }

  /** Longest input in tokens whichever model runs (Python's `max_input_length`). */
  get maxInputLength(): number {
    return maxInputLength(this.manifest);
  }

  /** Whether the manifest lists `name`. */
  has(name: string): boolean {
    return this.files.has(name);
  }

  /** The bytes of listed file `name` (`model.onnx`, `dictionary/trie.bin`, ...); do not modify them. */
  file(name: string): Uint8Array {
    const bytes = this.files.get(name);
    if (bytes === undefined) throw new BundleError(`${this.location}: the manifest lists no file '${name}'`, name);
    return bytes;
  }

  /** Listed file `name` as parsed JSON. */
  json(name: string): unknown {
    return parseJson(this.file(name), name, name, `in ${this.location}`);
  }

  toString(): string {
    return `Bundle(${this.location}, ${this.task})`;
  }
}

/**
 * Listed file `name`, its size and (`verify`) sha256 checked against `entry`. The source hears the
 * verdict; a caching source whose copy failed drops it and offers the file once more (from the network).
 */
async function readFile(source: BundleSource, name: string, entry: FileEntry, verify: boolean): Promise<Uint8Array> {
  for (let attempt = 0; ; attempt++) {
    const bytes = await source.read(name, entry);
    if (bytes === undefined) throw new BundleError(`bundle file missing: ${where(source, name)}`, name);
    let problem: string | undefined;
    if (bytes.byteLength !== entry.size) {
      problem = `bundle file ${where(source, name)} has size ${bytes.byteLength}, manifest says ${entry.size}`;
    } else if (verify && (await sha256Hex(bytes)) !== entry.sha256.toLowerCase()) {
      problem = `bundle file ${where(source, name)} does not match its sha256 in the manifest (corrupt or tampered)`;
    }
    const again = (await source.checked?.(name, entry, bytes, problem === undefined)) ?? false;
    if (problem === undefined) return bytes;
    if (!again || attempt > 0) throw new BundleError(problem, name);
  }
}

function where(source: BundleSource, name: string): string {
  if (source.location === 'in-memory bundle') return `${name} of the in-memory bundle`;
  return source.location.endsWith('/') ? `${source.location}${name}` : `${source.location}/${name}`;
}

/** labels.json (`{"0": "O", ...}`) as a list by id; ids must be exactly 0..n-1, n >= 1 (Python's `Bundle.id2label`). */
function readLabels(bytes: Uint8Array, name: string): string[] {
  const map = parseJson(bytes, name, 'labels file', name);
  if (typeof map !== 'object' || map === null || Array.isArray(map)) throw new BundleError(`${name} is not a JSON object`, name);
  const entries = Object.entries(map as Record<string, unknown>);
  if (entries.length === 0) {
    throw new BundleError(`${name} names no label; it must map the ids 0..n-1 (decimal strings) to label names, ` +
      'as {"0": "O", "1": "B-人名"}', name);
  }
  const labels: string[] = new Array(entries.length);
  for (const [key, value] of entries) {
    const id = /^\d+$/.test(key) ? Number(key) : NaN;
    if (!(id < entries.length) || labels[id] !== undefined) {
      throw new BundleError(`${name}: label ids must be 0..${entries.length - 1}, found '${key}'`, name);
    }
    if (typeof value !== 'string') throw new BundleError(`${name}: label ${key} is not a string`, name);
    labels[id] = value;
  }
  return labels;
}
