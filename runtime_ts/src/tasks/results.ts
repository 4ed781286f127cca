/**
 * What each task returns. Keys are the Python pipelines' (runtime_py/mbja_runtime/results.py), so
 * a result compares with Python's JSON as it is; the one difference is that offsets are UTF-16
 * indices into the original JS string (`text.slice(start, end)`), where Python counts code points.
 */

/** A named entity; `score` is the mean of its tokens' (or words') probabilities. */
export interface Entity {
  type: string;
  text: string;
  start: number;
  end: number;
  score: number;
}

/** One token whose best label is not ignored (`aggregation: 'none'`, transformers' keys). */
export interface TokenTag {
  entity: string;
  score: number;
  /** The token's position in the encoding ([CLS] = 0). */
  index: number;
  /** The WordPiece token, `##` kept. */
  word: string;
  start: number;
  end: number;
}

/** A sequence-classification label with its probability (softmax, or sigmoid for multi-label models). */
export interface Label {
  label: string;
  score: number;
}

/**
 * One candidate for one [MASK]: the vocabulary id, the token as the vocabulary writes it, its
 * probability, and the original text with this [MASK] replaced by the token without `##` (other
 * masks left in place).
 */
export interface Filler {
  token: number;
  token_str: string;
  score: number;
  sequence: string;
}

/** One sequence's token-level (or pooled) model output, row-major: `rows` x `cols`. */
export interface Matrix {
  data: ArrayLike<number>;
  rows: number;
  cols: number;
}

/** A token's span in the original text, or null for special tokens ([CLS], [SEP], padding). */
export type Offset = readonly [number, number] | null;
