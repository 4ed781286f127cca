/**
 * NER decoding: a port of `decode_entities` (runtime_py/mbja_runtime/pipelines/token_classification.py)
 * and the Kotlin `TokenClassification`. Pure functions of the logits and the encoding, so the shared
 * vectors test them without a model.
 *
 * Aggregations are transformers' definitions: `simple` lets each token take its best label; for
 * `first` / `average` / `max` a word (a token and its `##` continuations) takes the label of its
 * first token / of its tokens' mean probabilities / of its most confident token. Units are then
 * grouped by IOB2 (`iob.ts`); `none` returns per-token tags instead of entities.
 */
import { BundleError, MbjaError } from '../errors.js';
import { decodeIob2 } from './iob.js';
import { argmax, softmax } from './numeric.js';
import type { Entity, Matrix, Offset, TokenTag } from './results.js';

export const AGGREGATIONS = ['none', 'simple', 'first', 'average', 'max'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
export type EntityAggregation = Exclude<Aggregation, 'none'>;

/** The encoding fields the decoders read. */
export interface TokenView {
  tokens: readonly string[];
  offsets: readonly Offset[];
}

export const DEFAULT_IGNORE_LABELS: readonly string[] = ['O'];

export function checkAggregation(aggregation: unknown): Aggregation {
  if (!(AGGREGATIONS as readonly unknown[]).includes(aggregation)) {
    throw new MbjaError(`unknown aggregation '${aggregation}'; choose one of: ${AGGREGATIONS.join(', ')}`);
  }
  return aggregation as Aggregation;
}

/** Entities of `text` from its token logits (tokens x labels). */
export function decodeEntities(logits: Matrix, enc: TokenView, text: string, labels: readonly string[],
  aggregation: EntityAggregation = 'simple', ignoreLabels: readonly string[] = DEFAULT_IGNORE_LABELS): Entity[] {
  if (checkAggregation(aggregation) === 'none') throw new MbjaError("aggregation 'none' gives token tags: use tagTokens");
  const probs = probabilities(logits, enc, labels);
  let units: number[][];
  const unitLabels: number[] = [];
  const unitScores: number[] = [];
  if (aggregation === 'simple') {
    units = [];
    enc.offsets.forEach((span, i) => { if (span !== null) units.push([i]); });
    for (const [i] of units) {
      const best = argmax(probs[i]);
      unitLabels.push(best);
      unitScores.push(probs[i][best]);
    }
  } else {
    units = words(enc);
    for (const u of units) {
      const p = wordProbabilities(probs, u, aggregation, logits.cols);
      const best = argmax(p);
      unitLabels.push(best);
      unitScores.push(p[best]);
    }
  }
  const tags = unitLabels.map((l) => labels[l]);
  const spans = units.map((u): Offset => [enc.offsets[u[0]]![0], enc.offsets[u[u.length - 1]]![1]]);
  return decodeIob2(tags, spans, new Set(ignoreLabels)).map((e) => {
    let sum = 0;
    for (let k = e.first; k <= e.last; k++) sum += unitScores[k];
    return { type: e.type, text: text.slice(e.start, e.end), start: e.start, end: e.end, score: sum / (e.last - e.first + 1) };
  });
}

/** `aggregation: 'none'`: one tag per text token whose best label is not ignored. */
export function tagTokens(logits: Matrix, enc: TokenView, labels: readonly string[],
  ignoreLabels: readonly string[] = DEFAULT_IGNORE_LABELS): TokenTag[] {
  const probs = probabilities(logits, enc, labels);
  const ignore = new Set(ignoreLabels);
  const out: TokenTag[] = [];
  enc.offsets.forEach((span, i) => {
    const best = argmax(probs[i]);
    const label = labels[best];
    if (span === null || ignore.has(label)) return;
    out.push({ entity: label, score: probs[i][best], index: i, word: enc.tokens[i], start: span[0], end: span[1] });
  });
  return out;
}

/** Token indices of each word (a token and its `##` continuations); special tokens excluded. */
export function words(enc: TokenView): number[][] {
  const out: number[][] = [];
  enc.tokens.forEach((token, i) => {
    if (enc.offsets[i] === null) return;
    const last = out[out.length - 1];
    if (token.startsWith('##') && last !== undefined && last[last.length - 1] === i - 1) last.push(i);
    else out.push([i]);
  });
  return out;
}

function wordProbabilities(probs: Float64Array[], word: number[], aggregation: EntityAggregation, n: number): Float64Array {
  switch (aggregation) {
    case 'first':
      return probs[word[0]];
    case 'average': {
      const p = new Float64Array(n);
      for (const i of word) for (let c = 0; c < n; c++) p[c] += probs[i][c];
      for (let c = 0; c < n; c++) p[c] /= word.length;
      return p;
    }
    default: {
      const peaks = word.map((i) => probs[i][argmax(probs[i])]);
      return probs[word[argmax(peaks)]];
    }
  }
}

function probabilities(logits: Matrix, enc: TokenView, labels: readonly string[]): Float64Array[] {
  if (logits.rows !== enc.offsets.length) {
    throw new MbjaError(`logits cover ${logits.rows} tokens, the encoding has ${enc.offsets.length}`);
  }
  checkLabelCount(logits.cols, labels.length);
  return Array.from({ length: logits.rows }, (_, r) => softmax(logits.data, r * logits.cols, logits.cols));
}

/**
 * A model may score fewer labels than labels.json names (the rest are never chosen), not more: a
 * label without a name is an unusable bundle (Python's rule, docs/bundle-format.md).
 */
export function checkLabelCount(scored: number, named: number, file = 'labels.json'): void {
  if (scored > named) throw new BundleError(`the model scores ${scored} labels, ${file} names ${named}`, file);
}
