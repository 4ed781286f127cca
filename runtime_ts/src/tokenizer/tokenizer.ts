import { BundleError, TokenizerError } from '../errors.js';
import { parseJson } from '../json.js';
import { Dictionary } from './dictionary.js';
import { FILES } from './format.js';
import { nfkc } from './nfkc.js';
import { nfkcWithOffsets } from './nfkcOffsets.js';
import { Segmenter } from './segmenter.js';
import { readSettings, readVocab, type Settings } from './settings.js';
import { WordPiece } from './wordpiece.js';

/** One encoded text or text pair: `[CLS] text [SEP] (pair [SEP])`, truncated and padded as asked.
 *  All arrays have the same length. */
export interface Encoding {
  inputIds: number[];
  attentionMask: number[];
  tokenTypeIds: number[];
  tokens: string[];
  /** [start, end) UTF-16 indices into the ORIGINAL text (of the text it came from, for pairs); null for [CLS]/[SEP]/[PAD] */
  offsets: ([number, number] | null)[];
  /** 0 for tokens of the text, 1 for the pair, null for added special tokens (like transformers' sequence_ids) */
  sequenceIds: (number | null)[];
}

export type Truncation = boolean | 'longest_first' | 'only_first' | 'only_second';
export type Padding = boolean | 'longest' | 'max_length';

export interface EncodeOptions {
  pair?: string | null;
  /** The truncation / padding limit; null or absent: the bundle's `model_max_length`. 0 turns truncation off, as in transformers. */
  maxLength?: number | null;
  /** Default true (= 'longest_first'), as the Python runtime's `encode`. */
  truncation?: Truncation;
  /** Default false. true / 'longest': pad to the longest encoding of the call (a no-op for one text);
   *  'max_length': pad to the limit. */
  padding?: Padding;
}

export interface TokenizerFiles {
  /** vocab.txt bytes or text */
  vocab: Uint8Array | string;
  /** parsed tokenizer.json (validated: same SUPPORTED/DEFAULTS as runtime_py tokenizer.py and Kotlin TokenizerFiles.kt) */
  settings: unknown;
  /** returns the bytes of a file of the bundle's dictionary/ folder (e.g. "trie.bin"); throws if absent */
  dictionary: (name: string) => Uint8Array;
}

type Strategy = 'longest_first' | 'only_first' | 'only_second' | null;
type PadMode = 'longest' | 'max_length' | null;

const TRUNCATIONS = new Map<unknown, Strategy>([[true, 'longest_first'], [false, null],
  ['longest_first', 'longest_first'], ['only_first', 'only_first'], ['only_second', 'only_second'],
  ['do_not_truncate', null]]);
const PADDINGS = new Map<unknown, PadMode>([[false, null], ['do_not_pad', null], [true, 'longest'],
  ['longest', 'longest'], ['max_length', 'max_length']]);

/** A lone surrogate (not valid Unicode: MeCab, which reads UTF-8, cannot take it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The tokens of one text with their spans in it: what transformers' `tokenize` gives, plus offsets. */
interface Seq { tokens: string[]; ids: number[]; offsets: [number, number][] }

/**
 * The device tokenizer: transformers' `BertJapaneseTokenizer` (MeCab + unidic-lite, then
 * WordPiece) reproduced id for id over a bundle's compiled dictionary, with offsets into the
 * original text -- the TypeScript twin of `mbja_runtime.tokenize.Tokenizer` and the Kotlin SDK's
 * `Tokenizer`, held to the Python runtime's output by the shared vectors.
 *
 * Pipeline: cut the text at special tokens (`[CLS] [SEP] [MASK] [UNK] [PAD]`, kept whole), NFKC
 * each other piece (Unicode 14, as Python 3.11), segment it like MeCab, WordPiece each surface,
 * then `[CLS] a [SEP] (b [SEP])` with transformers 5.x truncation and padding. Offsets are UTF-16
 * indices (JS string indices); the Python runtime and the vectors count code points.
 */
export class Tokenizer {
  /** The bundle's `model_max_length` (tokens, [CLS]/[SEP] included); `Number.MAX_SAFE_INTEGER` when it sets none. */
  readonly modelMaxLength: number;
  /** Number of tokens: the vocabulary plus the special tokens it lacked (appended as transformers does). */
  readonly vocabSize: number;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly maskId: number;
  readonly unkId: number;

  private readonly vocab: Map<string, number>;
  private readonly idsToTokens: Map<number, string>;
  private readonly s: Settings;
  private readonly limit: number | null;
  private readonly special: RegExp | null;
  private readonly segmenter: Segmenter;
  private readonly wordPiece: WordPiece;

  private constructor(dictionary: Dictionary, settings: Settings, vocab: Map<string, number>) {
    this.s = settings;
    this.vocab = new Map(vocab);
    this.idsToTokens = new Map();
    for (const [t, i] of this.vocab) this.idsToTokens.set(i, t);
    // transformers' order; special tokens missing from the vocabulary get ids at the end
    const specials = [settings.unkToken, settings.sepToken, settings.padToken, settings.clsToken, settings.maskToken];
    for (const tok of specials) {
      if (!this.vocab.has(tok)) {
        const id = this.idsToTokens.size;
        this.vocab.set(tok, id);
        this.idsToTokens.set(id, tok);
      }
    }
    this.special = specialTokenPattern(specials);
    this.vocabSize = this.vocab.size;
    this.clsId = this.vocab.get(settings.clsToken)!;
    this.sepId = this.vocab.get(settings.sepToken)!;
    this.padId = this.vocab.get(settings.padToken)!;
    this.maskId = this.vocab.get(settings.maskToken)!;
    this.unkId = this.vocab.get(settings.unkToken)!;
    this.limit = settings.modelMaxLength;
    this.modelMaxLength = this.limit ?? Number.MAX_SAFE_INTEGER;
    this.segmenter = new Segmenter(dictionary);
    this.wordPiece = new WordPiece(this.vocab, settings.unkToken, settings.maxInputCharsPerWord);
  }

  /**
   * A tokenizer over a bundle's files held in memory (a browser's `fetch`, an app's assets). The
   * dictionary is read in place from the returned bytes, which must stay unchanged. With
   * `verifyChecksums` the dictionary files' own CRC-32s are checked too (needless when the
   * manifest's sha256 of every file was verified).
   * @throws BundleError naming the missing, corrupt or unsupported file.
   */
  static fromFiles(files: TokenizerFiles, options?: { verifyChecksums?: boolean }): Tokenizer {
    return Tokenizer.load(files, (name) => `dictionary/${name}`, options?.verifyChecksums ?? false);
  }

  /**
   * Node only: `vocab.txt`, `tokenizer.json` and `dictionary/` of a bundle directory. The manifest
   * is not read here: the bundle loader checks it first.
   * @throws BundleError naming the missing, corrupt or unsupported file.
   */
  static async fromDirectory(dir: string, options?: { verifyChecksums?: boolean }): Promise<Tokenizer> {
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const read = async (path: string): Promise<Uint8Array> => {
      try {
        return await readFile(path);
      } catch (e) {
        throw new BundleError(`bundle file missing or unreadable: ${path} (${String(e)})`, path, { cause: e });
      }
    };
    const settingsPath = join(dir, 'tokenizer.json');
    const [vocab, settings, ...dict] = await Promise.all([read(join(dir, 'vocab.txt')), read(settingsPath),
      ...Object.values(FILES).map((f) => read(join(dir, 'dictionary', f)))]);
    const parsed = parseJson(settings, settingsPath, 'tokenizer settings', settingsPath);
    const bytes = new Map(Object.values(FILES).map((f, i) => [f, dict[i]]));
    return Tokenizer.load({ vocab, settings: parsed, dictionary: (name) => bytes.get(name)! },
      (name) => join(dir, 'dictionary', name), options?.verifyChecksums ?? false);
  }

  private static load(files: TokenizerFiles, source: (name: string) => string, verify: boolean): Tokenizer {
    if (typeof files !== 'object' || files === null) {
      throw new TokenizerError(`the tokenizer's files must be an object of settings, vocab and dictionary, not ${String(files)}`);
    }
    const settings = readSettings(files.settings);
    const vocab = readVocab(files.vocab);
    return new Tokenizer(new Dictionary(files.dictionary, source, verify), settings, vocab);
  }

  /** The token of `id`; the unknown token for an id outside the vocabulary (as transformers). */
  idToToken(id: number): string {
    return this.idsToTokens.get(id) ?? this.s.unkToken;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /** Tokens as transformers' `tokenize` returns them (no [CLS]/[SEP]). */
  tokenize(text: string): string[] {
    return this.pieces(checkText(text, 'text')).tokens;
  }

  /** MeCab surfaces of NFKC(text) (special tokens not treated specially): the word level. */
  words(text: string): string[] {
    const t = mecabText(nfkc(checkText(text, 'text')));
    const { cps, u16 } = codePoints(t);
    const spans = this.segmenter.spans(cps, cps.length);
    const out: string[] = [];
    for (let i = 0; i < spans.length; i += 2) out.push(t.slice(u16[spans[i]], u16[spans[i + 1]]));
    return out;
  }

  /**
   * `[CLS] text [SEP]`, or `[CLS] text [SEP] pair [SEP]` (token type 1 for the pair's part), with
   * transformers' truncation and padding rules (see {@link EncodeOptions}).
   * @throws TokenizerError for invalid arguments and for text the reference tokenizer cannot
   *   process: a lone surrogate, or a run of 65,535+ bytes of whitespace that makes MeCab cut a
   *   character in half.
   */
  encode(text: string, options: EncodeOptions | null = {}): Encoding {
    options ??= {};
    const { strategy, mode, limit } = this.options(options);
    const pair = options.pair ?? null;
    const a = this.pieces(checkText(text, 'text'));
    const b = pair === null ? null : this.pieces(checkText(pair, 'pair'));
    return this.padded([this.assemble(a, b, strategy, limit)], mode, limit)[0];
  }

  /** `encode` for many texts (and pairs); padding true pads to the longest encoding of the batch. */
  encodeBatch(texts: string[], options: (EncodeOptions & { pairs?: string[] }) | null = {}): Encoding[] {
    options ??= {};
    const { strategy, mode, limit } = this.options(options);
    if (!Array.isArray(texts)) throw new TokenizerError('texts must be an array of strings');
    const pairs = options.pairs;
    if (pairs !== undefined && (!Array.isArray(pairs) || pairs.length !== texts.length)) {
      throw new TokenizerError('texts and pairs must be arrays of the same length');
    }
    const encs = texts.map((t, i) => this.assemble(this.pieces(checkText(t, 'text')),
      pairs === undefined ? null : this.pieces(checkText(pairs[i], 'pair')), strategy, limit));
    return this.padded(encs, mode, limit);
  }

  private options(o: EncodeOptions): { strategy: Strategy; mode: PadMode; limit: number | null } {
    const truncation = o.truncation ?? true;
    const padding = o.padding ?? false;
    const strategy = TRUNCATIONS.get(truncation);
    if (strategy === undefined) {
      throw new TokenizerError(`truncation must be true, false, 'longest_first', 'only_first' or 'only_second', not ${String(truncation)}`);
    }
    const mode = PADDINGS.get(padding);
    if (mode === undefined) throw new TokenizerError(`padding must be true, false, 'longest' or 'max_length', not ${String(padding)}`);
    const m = o.maxLength ?? null;
    if (m !== null && (!Number.isSafeInteger(m) || m < 0)) {
      throw new TokenizerError(`maxLength must be a non-negative integer or null, not ${String(m)}`);
    }
    return { strategy, mode, limit: m ?? this.limit };
  }

  /** The tokens of one text with spans in it: special tokens cut out first, the rest NFKC'd, segmented, WordPiece'd. */
  private pieces(text: string): Seq {
    const out: Seq = { tokens: [], ids: [], offsets: [] };
    let pos = 0;
    const re = this.special;
    if (re !== null) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m.index > pos) this.plain(text.slice(pos, m.index), pos, out);
        out.tokens.push(m[0]);
        out.ids.push(this.vocab.get(m[0])!);
        out.offsets.push([m.index, m.index + m[0].length]);
        pos = m.index + m[0].length;
      }
    }
    if (pos < text.length) this.plain(text.slice(pos), pos, out);
    return out;
  }

  /** A piece without special tokens, starting at UTF-16 index `off` of its text. */
  private plain(piece: string, off: number, out: Seq): void {
    const norm = nfkcWithOffsets(piece);
    const s = mecabText(norm.text);
    const { cps, u16 } = codePoints(s);
    const spans = this.segmenter.spans(cps, cps.length);
    const { starts, ends } = norm;
    for (let i = 0; i < spans.length; i += 2) {
      const a = spans[i];
      const b = spans[i + 1];
      const r = this.wordPiece.parts(s.slice(u16[a], u16[b]));
      for (let k = 0; k < r.tokens.length; k++) {
        const x = r.spans === null ? 0 : r.spans[2 * k];
        const y = r.spans === null ? b - a : r.spans[2 * k + 1];
        out.tokens.push(r.tokens[k]);
        out.ids.push(r.ids[k]);
        out.offsets.push([off + starts[a + x], off + ends[a + y - 1]]);
      }
    }
  }

  private assemble(a: Seq, b: Seq | null, strategy: Strategy, limit: number | null): Encoding {
    let na = a.ids.length;
    let nb = b === null ? 0 : b.ids.length;
    const special = b === null ? 2 : 3;
    if (strategy !== null && limit && na + nb + special > limit) {     // 0: off, as in transformers
      [na, nb] = truncate(na, b === null ? null : nb, na + nb + special - limit, strategy);
    }
    // concat, not push(...xs): a spread call's arguments are limited (a 100,000-token text would overflow)
    const ids = [this.clsId].concat(a.ids.slice(0, na), [this.sepId]);
    const tokens = [this.s.clsToken].concat(a.tokens.slice(0, na), [this.s.sepToken]);
    const offsets = ([null] as ([number, number] | null)[]).concat(a.offsets.slice(0, na), [null]);
    const first = na + 2;
    const total = b === null ? first : first + nb + 1;
    const e: Encoding = {
      inputIds: b === null ? ids : ids.concat(b.ids.slice(0, nb), [this.sepId]),
      attentionMask: new Array<number>(total).fill(1),
      tokenTypeIds: new Array<number>(total).fill(0).fill(1, first),
      tokens: b === null ? tokens : tokens.concat(b.tokens.slice(0, nb), [this.s.sepToken]),
      offsets: b === null ? offsets : offsets.concat(b.offsets.slice(0, nb), [null]),
      sequenceIds: new Array<number | null>(total).fill(0).fill(1, first),
    };
    for (const i of [0, first - 1, total - 1]) e.sequenceIds[i] = null;     // [CLS] and the [SEP]s
    return e;
  }

  private padded(encs: Encoding[], mode: PadMode, limit: number | null): Encoding[] {
    let target: number;
    if (mode === 'longest') target = encs.reduce((m, e) => Math.max(m, e.inputIds.length), 0);
    else if (mode === 'max_length' && limit !== null) target = limit;
    else return encs;
    for (const e of encs) {
      for (let k = target - e.inputIds.length; k > 0; k--) {
        e.inputIds.push(this.padId);
        e.attentionMask.push(0);
        e.tokenTypeIds.push(0);
        e.tokens.push(this.s.padToken);
        e.offsets.push(null);
        e.sequenceIds.push(null);
      }
    }
    return encs;
  }
}

/**
 * How many tokens of each text remain after removing `k` the way transformers 5.x
 * `truncate_sequences` does (from the right); `lb` is null without a pair.
 */
function truncate(la: number, lb: number | null, k: number, strategy: Exclude<Strategy, null>): [number, number] {
  if (strategy === 'only_first' || (strategy === 'longest_first' && lb === null)) return [Math.max(la - k, 0), lb ?? 0];
  if (strategy === 'longest_first' && lb !== null) {
    const first = Math.min(Math.abs(lb - la), k);
    const second = k - first;
    const half = Math.floor(second / 2);
    const [ka, kb] = la > lb ? [first + half, second - half] : [half, first + second - half];
    return [Math.max(la - ka, 0), Math.max(lb - kb, 0)];
  }
  if (strategy === 'only_second' && lb) return [la, Math.max(lb - k, 0)];
  return [la, lb ?? 0];
}

/** Leftmost match, longest first at one position: the special tokens as transformers splits them. */
function specialTokenPattern(tokens: string[]): RegExp | null {
  const toks = [...new Set(tokens.filter((t) => t.length > 0))].sort((x, y) => y.length - x.length);
  return toks.length === 0 ? null : new RegExp(toks.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
}

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string') throw new TokenizerError(`${what} must be a string, not ${text === null ? 'null' : typeof text}`);
  const m = LONE_SURROGATE.exec(text);
  if (m !== null) {
    const code = text.charCodeAt(m.index).toString(16).toUpperCase().padStart(4, '0');
    throw new TokenizerError(`${what} contains a lone surrogate at index ${m.index} (U+${code}); it is not valid ` +
      'Unicode and MeCab cannot read it');
  }
  return text;
}

/** MeCab reads a C string: everything from the first NUL on is ignored. */
function mecabText(s: string): string {
  const z = s.indexOf('\0');
  return z >= 0 ? s.slice(0, z) : s;
}

/** The code points of `s` and, per code point (and one past the end), its UTF-16 index. */
function codePoints(s: string): { cps: Int32Array; u16: Int32Array } {
  const cps = new Int32Array(s.length);
  const u16 = new Int32Array(s.length + 1);
  let n = 0;
  let u = 0;
  while (u < s.length) {
    const cp = s.codePointAt(u)!;
    cps[n] = cp;
    u16[n++] = u;
    u += cp > 0xFFFF ? 2 : 1;
  }
  u16[n] = u;
  return { cps: cps.subarray(0, n), u16 };
}
