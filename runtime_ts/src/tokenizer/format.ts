/**
 * The compiled dictionary's binary layout (docs/dictionary-format.md): the one module of the
 * TypeScript runtime that knows header fields, version and array order, as `format.py` is on the
 * Python side and `DictionaryFormat.kt` in the Kotlin SDK.
 *
 * Every file is a 64-byte little-endian header (magic `MBJD`, kind, version, header size, CRC-32
 * of the payload, payload size, eight kind-specific params) followed by fixed arrays whose lengths
 * follow from the params, each starting at a multiple of 8 bytes, so they can be viewed in place.
 */
export const MAGIC = 'MBJD';
/**
 * The only version this reader accepts; the writer bumps it whenever an old reader would misread.
 * 2: `matrix.bin` holds the costs as two byte planes (high i8, low u8) instead of one i16 array.
 */
export const VERSION = 2;
export const HEADER_SIZE = 64;
export const ALIGN = 8;
/** Per-code-point tables cover U+0000..U+FFFF. */
export const BMP = 0x10000;
/** Bytes of one category name (ASCII, NUL padded). */
export const NAME_BYTES = 16;

export type Kind = 'TRIE' | 'LEXI' | 'CONN' | 'CHAR';

/** Kind -> file name inside the bundle's `dictionary/`. */
export const FILES: Readonly<Record<Kind, string>> = {
  TRIE: 'trie.bin', LEXI: 'lexicon.bin', CONN: 'matrix.bin', CHAR: 'chars.bin',
};

/** Header params by name, per kind (unused trailing params are 0). */
export const PARAM_NAMES: Readonly<Record<Kind, readonly string[]>> = {
  TRIE: ['n_slots', 'alphabet', 'n_astral', 'n_keys'],
  LEXI: ['n_entries'],
  CONN: ['n_left', 'n_right'],
  CHAR: ['n_categories', 'n_classes', 'n_unknown', 'max_grouping_size', 'max_lookup_bytes', 'bos_right', 'eos_left'],
};

/** One array of a file: element size in bytes and count. */
export interface ArraySpec { name: string; itemSize: 1 | 2 | 4; count: number }

/** The arrays of a file of `kind` in payload order (params are unsigned 32-bit). */
export function layout(kind: Kind, p: Readonly<Record<string, number>>): ArraySpec[] {
  const a = (name: string, itemSize: 1 | 2 | 4, count: number): ArraySpec => ({ name, itemSize, count });
  switch (kind) {
    case 'TRIE':
      return [a('base', 4, p.n_slots), a('check', 4, p.n_slots), a('code_bmp', 2, BMP),
        a('astral_cp', 4, p.n_astral), a('astral_code', 2, p.n_astral)];
    case 'LEXI':
      return [a('left', 2, p.n_entries), a('right', 2, p.n_entries), a('cost', 2, p.n_entries)];
    case 'CONN': {
      // a double: inexact only far beyond any real file size, which the size check then refuses
      const n = p.n_left * p.n_right;
      return [a('high', 1, n), a('low', 1, n)];
    }
    case 'CHAR': {
      const k = p.n_classes;
      const u = p.n_unknown;
      return [a('class_of_bmp', 1, BMP), a('class_mask', 4, k), a('class_category', 1, k), a('class_length', 1, k),
        a('class_group', 1, k), a('class_invoke', 1, k), a('category_name', 1, p.n_categories * NAME_BYTES),
        a('unknown_offsets', 4, p.n_categories + 1), a('unk_left', 2, u), a('unk_right', 2, u), a('unk_cost', 2, u)];
    }
  }
}

/** `n` rounded up to the array alignment. */
export function padded(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
