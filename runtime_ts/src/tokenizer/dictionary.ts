import { BundleError } from '../errors.js';
import { Connector } from './connector.js';
import { DictionaryFile } from './dictionaryFile.js';
import { BMP, FILES, type Kind } from './format.js';

/**
 * The four files of a compiled dictionary (docs/dictionary-format.md), viewed in place and
 * cross-checked once at load, as `dictionary.py` and `Dictionary.kt` do: every trie slot, entry,
 * context class, character class and unknown-word range a lookup can reach is proven in range
 * here, so the segmenter indexes without checks and a corrupt file is refused (naming it) instead
 * of mis-segmenting later. No per-entry objects: the arrays are typed-array views.
 */
export class Dictionary {
  // trie.bin
  readonly base: Int32Array;
  readonly check: Int32Array;
  readonly alphabet: number;
  private readonly codeBmp: Uint16Array;
  private readonly astralCp: Uint32Array;
  private readonly astralCode: Uint16Array;

  // lexicon.bin: entries 0 .. nLexicon-1; unknown-word entries follow them (index nLexicon + i)
  readonly nLexicon: number;
  private readonly lexLeft: Uint16Array;
  private readonly lexRight: Uint16Array;
  private readonly lexCost: Int16Array;

  readonly connector: Connector;

  // chars.bin
  private readonly classOfBmp: Uint8Array;
  readonly classMask: Int32Array;
  readonly classCategory: Uint8Array;
  readonly classLength: Uint8Array;
  readonly classGroup: Uint8Array;
  readonly classInvoke: Uint8Array;
  readonly unknownOffsets: Uint32Array;
  private readonly unkLeft: Uint16Array;
  private readonly unkRight: Uint16Array;
  private readonly unkCost: Int16Array;
  readonly maxGroupingSize: number;
  readonly maxLookupBytes: number;
  readonly bosRight: number;
  readonly eosLeft: number;

  private readonly files: Readonly<Record<Kind, DictionaryFile>>;

  /**
   * `read(name)` returns the bytes of `dictionary/<name>`; `source(name)` is how errors name that
   * file. CRCs are checked when `verifyCrc`.
   */
  constructor(read: (name: string) => Uint8Array, source: (name: string) => string, verifyCrc: boolean) {
    const open = (kind: Kind): DictionaryFile => {
      const name = FILES[kind];
      let bytes: Uint8Array;
      try {
        bytes = read(name);
      } catch (e) {
        if (e instanceof BundleError) throw e;
        throw new BundleError(`dictionary file missing or unreadable: ${source(name)} (${String(e)})`, source(name),
          { cause: e });
      }
      if (!(bytes instanceof Uint8Array)) {
        throw new BundleError(`dictionary file ${source(name)}: expected its bytes (a Uint8Array)`, source(name));
      }
      return DictionaryFile.open(source(name), bytes, kind, verifyCrc);
    };
    this.files = { TRIE: open('TRIE'), LEXI: open('LEXI'), CONN: open('CONN'), CHAR: open('CHAR') };
    const trie = this.files.TRIE;
    this.base = trie.i32('base');
    this.check = trie.i32('check');
    this.alphabet = trie.param('alphabet');
    this.codeBmp = trie.u16('code_bmp');
    this.astralCp = trie.u32('astral_cp');
    this.astralCode = trie.u16('astral_code');
    const lex = this.files.LEXI;
    this.nLexicon = lex.param('n_entries');
    this.lexLeft = lex.u16('left');
    this.lexRight = lex.u16('right');
    this.lexCost = lex.i16('cost');
    this.connector = new Connector(this.files.CONN);
    const ch = this.files.CHAR;
    this.classOfBmp = ch.u8('class_of_bmp');
    this.classMask = ch.i32('class_mask');
    this.classCategory = ch.u8('class_category');
    this.classLength = ch.u8('class_length');
    this.classGroup = ch.u8('class_group');
    this.classInvoke = ch.u8('class_invoke');
    this.unknownOffsets = ch.u32('unknown_offsets');
    this.unkLeft = ch.u16('unk_left');
    this.unkRight = ch.u16('unk_right');
    this.unkCost = ch.i16('unk_cost');
    this.maxGroupingSize = ch.param('max_grouping_size');
    this.maxLookupBytes = ch.param('max_lookup_bytes');
    this.bosRight = ch.param('bos_right');
    this.eosLeft = ch.param('eos_left');
    this.validate();
  }

  /** Trie code of code point `cp` (0: in no surface). Astral code points: binary search. */
  code(cp: number): number {
    if (cp < BMP) return this.codeBmp[cp];
    const a = this.astralCp;
    let lo = 0;
    let hi = a.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = a[mid];
      if (v < cp) lo = mid + 1;
      else if (v > cp) hi = mid - 1;
      else return this.astralCode[mid];
    }
    return 0;
  }

  /** Character class of `cp`; above U+FFFF MeCab reads U+0000, so such characters get its class. */
  charClass(cp: number): number {
    return this.classOfBmp[cp < BMP ? cp : 0];
  }

  /** Left class (matrix row) of entry `e`: lexicon entries first, then unknown-word entries. */
  left(e: number): number { return e < this.nLexicon ? this.lexLeft[e] : this.unkLeft[e - this.nLexicon]; }
  right(e: number): number { return e < this.nLexicon ? this.lexRight[e] : this.unkRight[e - this.nLexicon]; }
  cost(e: number): number { return e < this.nLexicon ? this.lexCost[e] : this.unkCost[e - this.nLexicon]; }

  private fail(kind: Kind, what: string): never {
    throw this.files[kind].corrupt(what);
  }

  private validate(): void {
    const { base, check, alphabet } = this;
    const n = base.length;
    if (n < 1 || check.length !== n) this.fail('TRIE', 'empty double array');
    if (alphabet < 1 || alphabet > 0xFFFF) this.fail('TRIE', 'character codes outside the alphabet');
    for (let i = 0; i < BMP; i++) if (this.codeBmp[i] > alphabet) this.fail('TRIE', 'character codes outside the alphabet');
    for (const c of this.astralCode) if (c < 1 || c > alphabet) this.fail('TRIE', 'character codes outside the alphabet');
    for (let i = 1; i < this.astralCp.length; i++) {
      if (this.astralCp[i] <= this.astralCp[i - 1]) this.fail('TRIE', 'astral code points not ascending');
    }
    for (let i = 0; i < n; i++) {
      const c = check[i];
      if (c < -1 || c >= n) this.fail('TRIE', 'check values out of range');
      const b = base[i];
      if (b >= 0) {
        if (b + alphabet >= n) this.fail('TRIE', 'a base points past the end of the array');
      } else {
        const v = -b - 1;                          // exact in a double, even for -2^31
        if (Math.floor(v / 256) + (v % 256) > this.nLexicon) this.fail('TRIE', 'a key points past the end of the lexicon');
      }
    }
    const { nLeft, nRight } = this.connector;
    const matrix = `context classes outside the ${nLeft}x${nRight} matrix`;
    for (let i = 0; i < this.nLexicon; i++) {
      if (this.lexLeft[i] >= nLeft || this.lexRight[i] >= nRight) this.fail('LEXI', matrix);
    }
    for (let i = 0; i < this.unkLeft.length; i++) {
      if (this.unkLeft[i] >= nLeft || this.unkRight[i] >= nRight) this.fail('CHAR', matrix);
    }
    const k = this.classMask.length;
    if (k < 1) this.fail('CHAR', 'character class index out of range');
    for (let i = 0; i < BMP; i++) if (this.classOfBmp[i] >= k) this.fail('CHAR', 'character class index out of range');
    const off = this.unknownOffsets;
    const nCat = off.length - 1;
    let ranges = off[0] === 0 && off[nCat] === this.unkLeft.length;
    for (let c = 0; c < nCat; c++) if (off[c + 1] < off[c]) ranges = false;
    for (const c of this.classCategory) if (c >= nCat) ranges = false;
    if (!ranges) this.fail('CHAR', 'categories or unknown-word ranges out of range');
    if (this.bosRight >= nRight || this.eosLeft >= nLeft || this.maxLookupBytes < 1) {
      this.fail('CHAR', 'BOS/EOS context or look-ahead setting out of range');
    }
  }
}
