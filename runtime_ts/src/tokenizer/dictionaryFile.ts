import { BundleError, MbjaError } from '../errors.js';
import { HEADER_SIZE, MAGIC, PARAM_NAMES, VERSION, layout, padded, type Kind } from './format.js';
import { crc32 } from './crc32.js';

/** Typed arrays read the platform's byte order; the files are little-endian, as is every platform
 *  a browser or Node runs on today. A big-endian one is refused rather than misread. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * One dictionary file whose header has been checked against the format: its arrays are typed-array
 * views on the caller's bytes, never copied (the connection matrix alone is 42 MB), except once,
 * whole, when the bytes start at an offset that is not a multiple of 4 (a typed array must be
 * aligned to its element size; the arrays inside a file are 8-aligned relative to its start, so
 * only the buffer's own offset matters -- Node's `readFile` and `fetch` give offset 0).
 */
export class DictionaryFile {
  private constructor(
    /** How the file is named in errors: its path, or `dictionary/<name>`. */
    readonly source: string,
    readonly params: Readonly<Record<string, number>>,
    private readonly bytes: Uint8Array,
    private readonly arrays: ReadonlyMap<string, readonly [number, number]>,   // name -> (byte offset, count)
  ) {}

  private at(name: string): readonly [number, number] {
    const a = this.arrays.get(name);
    if (a === undefined) throw new MbjaError(`no array ${name} in ${this.source}`);
    return [this.bytes.byteOffset + a[0], a[1]];
  }

  u8(name: string): Uint8Array { const [o, n] = this.at(name); return new Uint8Array(this.bytes.buffer, o, n); }
  i8(name: string): Int8Array { const [o, n] = this.at(name); return new Int8Array(this.bytes.buffer, o, n); }
  u16(name: string): Uint16Array { const [o, n] = this.at(name); return new Uint16Array(this.bytes.buffer, o, n); }
  i16(name: string): Int16Array { const [o, n] = this.at(name); return new Int16Array(this.bytes.buffer, o, n); }
  i32(name: string): Int32Array { const [o, n] = this.at(name); return new Int32Array(this.bytes.buffer, o, n); }
  u32(name: string): Uint32Array { const [o, n] = this.at(name); return new Uint32Array(this.bytes.buffer, o, n); }

  /** A header param clamped to 2^31 - 1 (no valid count is larger), so lengths stay small integers. */
  param(name: string): number {
    return Math.min(this.params[name], 0x7FFFFFFF);
  }

  /** Why this file is refused, as a {@link BundleError} naming it. */
  corrupt(what: string): BundleError {
    return new BundleError(`dictionary file ${this.source} is inconsistent: ${what}`, this.source);
  }

  /**
   * Check `bytes` and refuse them -- naming `source` -- unless they are a whole file of `kind` in
   * this reader's format version: magic, kind, version, header and payload sizes, the size the
   * params describe, and (when `verifyCrc`) the CRC-32 of the payload.
   */
  static open(source: string, bytes: Uint8Array, kind: Kind, verifyCrc: boolean): DictionaryFile {
    const fail = (message: string) => new BundleError(message, source);
    if (!LITTLE_ENDIAN) throw fail(`cannot read ${source}: this platform is big-endian, the dictionary little-endian`);
    const size = bytes.length;
    if (size < HEADER_SIZE) {
      throw fail(`dictionary file ${source} is truncated (${size} bytes, the header alone is ${HEADER_SIZE})`);
    }
    if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
    const view = new DataView(bytes.buffer, bytes.byteOffset, size);
    const magic = ascii(bytes, 0);
    if (magic !== MAGIC) throw fail(`${source} is not an mbja dictionary file (bad magic '${magic}')`);
    const gotKind = ascii(bytes, 4);
    if (gotKind !== kind) throw fail(`${source} holds a '${gotKind}' section, expected '${kind}'`);
    const version = view.getUint16(8, true);
    if (version !== VERSION) {
      throw fail(`${source}: dictionary format version ${version} is not supported (this runtime reads version ` +
        `${VERSION}); rebuild the bundle with a matching mbja-build`);
    }
    const headerSize = view.getUint16(10, true);
    const crc = view.getUint32(12, true);
    const payload = Number(view.getBigUint64(16, true));
    if (headerSize !== HEADER_SIZE || payload !== size - HEADER_SIZE) {
      throw fail(`${source} is truncated or padded: header says ${payload} payload bytes, file has ${size - HEADER_SIZE}`);
    }
    const params: Record<string, number> = {};
    PARAM_NAMES[kind].forEach((name, i) => { params[name] = view.getUint32(24 + 4 * i, true); });
    const arrays = new Map<string, readonly [number, number]>();
    let pos = HEADER_SIZE;
    for (const s of layout(kind, params)) {
      const len = s.itemSize * s.count;
      if (pos + len <= size) arrays.set(s.name, [pos, s.count]);
      pos += padded(len);
    }
    if (pos !== size) throw fail(`${source}: header counts describe ${pos} bytes, file has ${size} (corrupt header)`);
    if (verifyCrc && crc32(bytes.subarray(HEADER_SIZE)) !== crc) {
      throw fail(`dictionary file ${source} fails its CRC-32 check (corrupt or tampered)`);
    }
    return new DictionaryFile(source, params, bytes, arrays);
  }
}

function ascii(b: Uint8Array, at: number): string {
  return String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
}
