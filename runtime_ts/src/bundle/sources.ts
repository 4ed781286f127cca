/**
 * Where a bundle's files come from: a directory (Node), a base URL (fetch), or an object of
 * in-memory files. Each source reads one file by its manifest-relative POSIX name and says
 * `undefined` when the file is not there, so the bundle reader reports every kind of source's
 * missing file the same way.
 */
import { BundleError } from '../errors.js';

/** In-memory bundle files by manifest-relative name (`manifest.json`, `dictionary/trie.bin`, ...). */
export type BundleFiles = Record<string, ArrayBuffer | Uint8Array | Blob | Response>;

/** A directory path (Node), a URL (absolute, or relative to the page in a browser) or in-memory files. */
export type BundleInput = string | URL | BundleFiles;

export interface BundleSource {
  /** How messages name the bundle: the directory, the base URL or "in-memory bundle". */
  readonly location: string;
  /** The file's bytes, or undefined when the source has no such file. */
  read(name: string): Promise<Uint8Array | undefined>;
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
export async function sourceOf(input: BundleInput): Promise<BundleSource> {
  if (typeof input === 'string' || input instanceof URL) {
    const text = String(input);
    const web = /^https?:\/\//i.test(text) || !isNode();
    if (web) return new UrlSource(text);
    if (/^file:/i.test(text)) {
      const { fileURLToPath } = await import('node:url');
      return new DirectorySource(fileURLToPath(text));
    }
    return new DirectorySource(text);
  }
  if (typeof input === 'object' && input !== null) return new MemorySource(input);
  throw new BundleError(`a bundle source must be a directory path, a URL or an object of files, not ${typeof input}`);
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
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
      throw new BundleError(`cannot read bundle file ${file}: ${(e as Error).message}`, name, { cause: e });
    }
  }
}

class UrlSource implements BundleSource {
  readonly location: string;
  private readonly base: string;
  constructor(url: string) {
    const absolute = typeof location === 'undefined' ? url : new URL(url, location.href).href;
    this.base = absolute.endsWith('/') ? absolute : `${absolute}/`;
    this.location = this.base;
  }

  async read(name: string): Promise<Uint8Array | undefined> {
    const url = new URL(name.split('/').map(encodeURIComponent).join('/'), this.base);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new BundleError(`cannot fetch bundle file ${url}: ${(e as Error).message}`, name, { cause: e });
    }
    if (response.status === 404 || response.status === 410) return undefined;
    return bytesOf(response, name, url.href);
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
  if (value instanceof Uint8Array) return value;
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (typeof Response !== 'undefined' && value instanceof Response) {
    if (!value.ok) throw new BundleError(`bundle file ${where}: HTTP ${value.status} ${value.statusText}`, name);
    return new Uint8Array(await value.arrayBuffer());
  }
  if (typeof Blob !== 'undefined' && value instanceof Blob) return new Uint8Array(await value.arrayBuffer());
  throw new BundleError(`bundle file ${where} must be an ArrayBuffer, Uint8Array, Blob or Response`, name);
}
