/**
 * Where a bundle's files come from: a directory (Node), a base URL (fetch), or an object of
 * in-memory files. Each source reads one file by its manifest-relative POSIX name and says
 * `undefined` when the file is not there, so the bundle reader reports every kind of source's
 * missing file the same way. A URL source can keep the files in a {@link BundleCache} between
 * visits.
 */
import { BundleError } from '../errors.js';
import type { FileEntry } from './manifest.js';

/** In-memory bundle files by manifest-relative name (`manifest.json`, `dictionary/trie.bin`, ...). */
export type BundleFiles = Record<string, ArrayBuffer | Uint8Array | Blob | Response>;

/** A directory path (Node), a URL (absolute, or relative to the page in a browser) or in-memory files. */
export type BundleInput = string | URL | BundleFiles;

/**
 * Where a URL bundle's files are kept between visits: a Cache API `Cache` (`await caches.open('mbja')`)
 * or anything with the part of its methods the runtime calls (declared here without the DOM types,
 * so Node code type-checks without lib "DOM").
 */
export interface BundleCache {
  match(url: string): Promise<Response | undefined>;
  put(url: string, response: Response): Promise<void>;
  /** The keys of `url` with any query (`ignoreSearch: true`). */
  keys(url: string, options: { ignoreSearch: boolean }): Promise<ReadonlyArray<{ readonly url: string }>>;
  delete(url: string): Promise<boolean>;
}

export interface BundleSource {
  /** How messages name the bundle: the directory, the base URL or "in-memory bundle". */
  readonly location: string;
  /** The file's bytes, or undefined when the source has no such file; `entry` is its manifest entry (none for the manifest). */
  read(name: string, entry?: FileEntry): Promise<Uint8Array | undefined>;
  /**
   * Told whether the bytes `read` gave matched `entry` (`ok`): a caching source keeps them, or drops
   * its copy. True when a failed file may be read once more (the cached copy failed; the next read downloads).
   */
  checked?(name: string, entry: FileEntry, bytes: Uint8Array, ok: boolean): Promise<boolean>;
}

/** True under Node.js (also where `fetch` exists: Node 20 has one, but bundles on disk are paths there). */
export function isNode(): boolean {
  const p = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof p?.versions?.node === 'string';
}

/**
 * The source `input` names. Under Node a string is a directory unless it is an http(s) URL; a
 * `file:` URL is a directory too (Node's fetch cannot read files). Elsewhere a string is a URL,
 * relative to the page.
 */
export async function sourceOf(input: BundleInput, cache?: BundleCache): Promise<BundleSource> {
  if (typeof input === 'string' || input instanceof URL) {
    const text = String(input);
    const web = /^https?:\/\//i.test(text) || !isNode();
    if (web) return new UrlSource(text, cache);
    if (/^file:/i.test(text)) {
      const { fileURLToPath } = await import('node:url');
      return new DirectorySource(fileURLToPath(text));
    }
    return new DirectorySource(text === '' ? '.' : text);    // '': the current directory, as Python's Path('') and Kotlin's Path.of('')
  }
  if (typeof input === 'object' && input !== null && (Object.getPrototypeOf(input) === Object.prototype ||
      Object.getPrototypeOf(input) === null)) {
    return new MemorySource(input);
  }
  const kind = input === null ? 'null' : typeof input === 'object' ? (input.constructor?.name ?? 'object') : typeof input;
  throw new BundleError(`a bundle source must be a directory path, a URL or a plain object of files by name, not ${kind}`);
}

class DirectorySource implements BundleSource {
  readonly location: string;
  constructor(private readonly dir: string) {
    this.location = dir;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const fs = await import('node:fs/promises');
    const path = await import('node:path');
    const file = path.join(this.dir, ...name.split('/'));
    try {
      const buf = await fs.readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENOTDIR' && name === 'manifest.json' && (await fs.stat(this.dir).catch(() => null))?.isFile()) {
        throw new BundleError(`${this.dir} is a file, not a bundle directory`, name);
      }
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new BundleError(`cannot read bundle file ${file}: ${(e as Error).message}`, name, { cause: e });
    }
  }
}

/**
 * Files fetched relative to a base URL. With a cache, a file is looked up there first, under its URL
 * with its manifest sha256 as the query (`.../model.onnx?sha256=...`), so a changed file misses and
 * is downloaded again; what reaches the network (the manifest always) is revalidated with the
 * server (`cache: 'no-cache'`), never taken unchecked from the HTTP cache. A file is stored only
 * after it matched the manifest, and storing it deletes the copies of its older versions. The cache
 * is an optimisation: when it fails (quota, private browsing), the files come from the network.
 */
class UrlSource implements BundleSource {
  readonly location: string;
  private readonly base: string;
  /** Names whose last read came from the cache: nothing to store again, and a failed copy is read once more. */
  private readonly hits = new Set<string>();

  constructor(url: string, private readonly cache?: BundleCache) {
    const absolute = typeof location === 'undefined' ? url : new URL(url, location.href).href;
    this.base = absolute.endsWith('/') ? absolute : `${absolute}/`;
    this.location = this.base;
  }

  async read(name: string, entry?: FileEntry): Promise<Uint8Array | undefined> {
    const url = this.url(name);
    if (this.cache && entry) {
      const hit = await quietly(async () => {
        const response = await this.cache!.match(cacheKey(url, entry));
        return response?.ok ? new Uint8Array(await response.arrayBuffer()) : undefined;
      });
      if (hit !== undefined) {
        this.hits.add(name);
        return hit;
      }
    }
    let response: Response;
    try {
      response = await fetch(url, this.cache ? { cache: 'no-cache' } : undefined);
    } catch (e) {
      throw new BundleError(`cannot fetch bundle file ${url}: ${(e as Error).message}`, name, { cause: e });
    }
    if (response.status === 404 || response.status === 410) return undefined;
    return bytesOf(response, name, url.href);
  }

  async checked(name: string, entry: FileEntry, bytes: Uint8Array, ok: boolean): Promise<boolean> {
    const cache = this.cache;
    const cached = this.hits.delete(name);
    if (!cache || (ok && cached)) return false;
    const url = this.url(name);
    const key = cacheKey(url, entry);
    await quietly(async () => {
      if (ok) {
        await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, {
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes.byteLength) },
        }));
      }
      // other versions of this file, or (not ok) the copy that failed the check
      for (const old of await cache.keys(url.href, { ignoreSearch: true })) {
        if (!ok || old.url !== key) await cache.delete(old.url);
      }
    });
    return !ok && cached;
  }

  private url(name: string): URL {
    return new URL(name.split('/').map(encodeURIComponent).join('/'), this.base);
  }
}

/** The cache key of `url`'s version `entry`. */
function cacheKey(url: URL, entry: FileEntry): string {
  const key = new URL(url);
  key.search = `?sha256=${entry.sha256.toLowerCase()}`;
  return key.href;
}

/** `f()`, or undefined when it throws: a failing cache costs a download, never the open. */
async function quietly<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch {
    return undefined;
  }
}

class MemorySource implements BundleSource {
  readonly location = 'in-memory bundle';
  constructor(private readonly files: BundleFiles) {}

  async read(name: string): Promise<Uint8Array | undefined> {
    if (!Object.prototype.hasOwnProperty.call(this.files, name)) return undefined;
    return bytesOf(this.files[name], name, name);
  }
}

async function bytesOf(value: BundleFiles[string], name: string, where: string): Promise<Uint8Array> {
  try {
    if (value instanceof Uint8Array) {
      // WebCrypto hashes no view of a SharedArrayBuffer: hash (and keep) a copy of such bytes
      return value.buffer instanceof ArrayBuffer ? view(value) : value.slice();
    }
    if (value instanceof ArrayBuffer) return view(new Uint8Array(value));
    if (typeof Response !== 'undefined' && value instanceof Response) {
      if (!value.ok) throw new BundleError(`bundle file ${where}: HTTP ${value.status} ${value.statusText}`, name);
      return new Uint8Array(await value.arrayBuffer());
    }
    if (typeof Blob !== 'undefined' && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  } catch (e) {
    if (e instanceof BundleError) throw e;
    // a download cut off, a Response body read already, a detached buffer
    throw new BundleError(`cannot read bundle file ${where}: ${(e as Error).message ?? e}`, name, { cause: e });
  }
  throw new BundleError(`bundle file ${where} must be an ArrayBuffer, Uint8Array, Blob or Response`, name);
}

/** `bytes`, or a TypeError now (not in the hash) when its buffer was detached (transferred to a worker). */
function view(bytes: Uint8Array): Uint8Array {
  if ((bytes.buffer as ArrayBuffer & { detached?: boolean }).detached) throw new TypeError('its ArrayBuffer is detached');
  return bytes;
}
