import { BundleError } from '../errors.js';
import { showJson as show } from '../json.js';

/**
 * The tokenizer's settings and vocabulary (docs/bundle-format.md), read as the Python runtime
 * (`tokenizer.py`) and the Kotlin SDK (`TokenizerFiles.kt`) read them: `tokenizer.json` over
 * transformers' defaults, refusing any setting the device tokenizer cannot mirror, and `vocab.txt`
 * as transformers' `load_vocab`.
 */

/** What the bundle format requires; any other value cannot be mirrored. */
const SUPPORTED: Readonly<Record<string, string | boolean>> = {
  normalization: 'NFKC', word_tokenizer: 'mecab', dictionary: 'unidic-lite', subword_tokenizer: 'wordpiece',
  do_lower_case: false,
};
const DEFAULTS: Readonly<Record<string, unknown>> = {
  unk_token: '[UNK]', sep_token: '[SEP]', pad_token: '[PAD]', cls_token: '[CLS]', mask_token: '[MASK]',
  max_input_chars_per_word: 100, model_max_length: 512,
};

const FILE = 'tokenizer.json';
const VOCAB = 'vocab.txt';

export interface Settings {
  unkToken: string; sepToken: string; padToken: string; clsToken: string; maskToken: string;
  maxInputCharsPerWord: number;
  /** null: the bundle sets no limit (transformers' 1e30 sentinel, or anything >= 10^12 as in Python). */
  modelMaxLength: number | null;
}

/** Validate a parsed `tokenizer.json`. */
export function readSettings(parsed: unknown): Settings {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new BundleError(`${FILE} is not a JSON object`, FILE);
  }
  const s: Record<string, unknown> = { ...DEFAULTS, ...(parsed as Record<string, unknown>) };
  for (const [key, want] of Object.entries(SUPPORTED)) {
    if (key in s && !pyEquals(s[key], want)) {
      throw new BundleError(`${FILE}: tokenizer setting ${key}=${JSON.stringify(s[key])} is not supported ` +
        `(only ${JSON.stringify(want)})`, FILE);
    }
  }
  const token = (key: string): string => {
    const v = s[key];
    if (typeof v !== 'string' || v === '') {
      throw new BundleError(`${FILE}: tokenizer setting ${key} must be a token (a non-empty string), not ${show(v)}`, FILE);
    }
    return v;
  };
  const [unkToken, sepToken, padToken, clsToken, maskToken] =      // transformers' order, as Python checks them
    ['unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token'].map(token);
  const maxChars = s.max_input_chars_per_word;
  if (!Number.isInteger(maxChars) || (maxChars as number) < 1) {
    throw new BundleError(`${FILE}: tokenizer setting max_input_chars_per_word must be a positive integer, not ` +
      `${show(maxChars)}`, FILE);
  }
  // transformers writes 1e30 for "no limit"; null: no limit either
  const mml = s.model_max_length;
  if (mml !== null && (typeof mml !== 'number' || !(mml >= 1))) {
    throw new BundleError(`${FILE}: tokenizer setting model_max_length must be a positive number or null, not ` +
      `${show(mml)}`, FILE);
  }
  return {
    unkToken, sepToken, padToken, clsToken, maskToken, maxInputCharsPerWord: maxChars as number,
    modelMaxLength: mml === null || (mml as number) >= 1e12 ? null : Math.trunc(mml as number),
  };
}

/** Python's `==` for the JSON values involved (`False == 0`). */
function pyEquals(a: unknown, b: string | boolean): boolean {
  if (typeof b === 'boolean' && typeof a === 'number') return a === (b ? 1 : 0);
  return a === b;
}

/** token -> id as transformers' `load_vocab`: UTF-8 (a BOM is kept, as Python's "utf-8" codec
 *  does), lines split at \n, \r\n or \r, id = line number, a later duplicate wins. An empty
 *  vocabulary is refused, as in Python. */
export function readVocab(vocab: Uint8Array | string): Map<string, number> {
  let text: string;
  if (typeof vocab === 'string') {
    text = vocab;
  } else if (vocab instanceof Uint8Array) {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(vocab);
    } catch (e) {
      throw new BundleError(`${VOCAB} is not UTF-8: ${String(e)}`, VOCAB, { cause: e });
    }
  } else {
    throw new BundleError(`${VOCAB}: expected its bytes (a Uint8Array) or text`, VOCAB);
  }
  const out = new Map<string, number>();
  let id = 0;
  for (let i = 0; i < text.length;) {
    let j = i;
    while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j++;
    out.set(text.slice(i, j), id++);
    i = text[j] === '\r' && text[j + 1] === '\n' ? j + 2 : j + 1;
  }
  if (out.size === 0) throw new BundleError(`${VOCAB}: the vocabulary is empty`, VOCAB);
  return out;
}
