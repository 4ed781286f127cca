/**
 * The TypeScript tokenizer against the Python runtime's output on the same bundle: identical input
 * ids, token type ids, attention mask, tokens and offsets for every vector (all 5,343 ner.json
 * sentences; the adversarial set: odd Unicode, special tokens, long inputs around MeCab's look-ahead
 * window, random texts, pairs, truncation, padding), and a TokenizerError wherever Python refused
 * the text. The vectors count offsets in code points; they are converted to UTF-16 indices of the
 * text each token came from (the pair's, for token type 1), as VectorParityTest.kt does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { TokenizerError } from '../src/errors.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { bundleDir, readJsonl, utf16Index } from './support.js';

const tok = await Tokenizer.fromDirectory(bundleDir());

interface TokenRecord {
  text: string; pair: string | null; max_length: number | null; truncation: boolean; padding: boolean;
  ids?: number[]; type_ids?: number[]; mask?: number[]; tokens?: string[]; offsets?: ([number, number] | null)[];
  error?: string;
}

function check(file: string, expected?: number): void {
  const { header, records } = readJsonl(file);
  assert.equal(header.format, 'mbja-token-vectors');
  assert.equal(header.version, 1);
  assert.equal(header.offsets, 'code points');
  const sha = createHash('sha256').update(readFileSync(resolve(bundleDir(), 'vocab.txt'))).digest('hex');
  assert.equal(sha, header.vocab_sha256, `the vectors were written with another vocabulary than ${bundleDir()}'s; ` +
    'regenerate them (mbja-build vectors --bundle build/demo-bundle) or point MBJA_BUNDLE at the right bundle');
  assert.equal(records.length, header.records);
  if (expected !== undefined) assert.equal(records.length, expected);
  const bad: string[] = [];
  for (const rec of records as unknown as TokenRecord[]) {
    const { text, pair } = rec;
    const what = `${JSON.stringify(text.slice(0, 40))}${pair !== null ? ` | ${JSON.stringify(pair.slice(0, 20))}` : ''} ` +
      `(${text.length} chars, max_length=${rec.max_length}, truncation=${rec.truncation}, padding=${rec.padding})`;
    let got;
    try {
      // the vectors' padding=true is Python's padding="max_length"
      got = tok.encode(text, { pair, maxLength: rec.max_length, truncation: rec.truncation,
        padding: rec.padding ? 'max_length' : false });
    } catch (e) {
      if (!(e instanceof TokenizerError)) bad.push(`${what}: crashed: ${String(e)}`);
      else if (rec.error === undefined) bad.push(`${what}: unexpected ${String(e)}`);
      continue;
    }
    if (rec.error !== undefined) {
      bad.push(`${what}: Python refused it (${rec.error}), TypeScript did not`);
      continue;
    }
    const types = rec.type_ids!;
    const ua = utf16Index(text);
    const ub = pair === null ? null : utf16Index(pair);
    const offsets = rec.offsets!.map((o, i) => {
      const u16 = types[i] === 1 ? ub! : ua;
      return o === null ? null : [u16[o[0]], u16[o[1]]];
    });
    const seq = rec.offsets!.map((o, i) => (o === null ? null : types[i]));    // null exactly for added tokens
    if (!same(got.inputIds, rec.ids!)) bad.push(`${what}: ids ${JSON.stringify(got.tokens)} != ${JSON.stringify(rec.tokens)}`);
    else if (!same(got.tokens, rec.tokens!)) bad.push(`${what}: tokens ${JSON.stringify(got.tokens)} != ${JSON.stringify(rec.tokens)}`);
    else if (!same(got.tokenTypeIds, types)) bad.push(`${what}: token types differ`);
    else if (!same(got.attentionMask, rec.mask!)) bad.push(`${what}: attention mask differs`);
    else if (!same(got.offsets, offsets)) bad.push(`${what}: offsets ${JSON.stringify(got.offsets)} != ${JSON.stringify(offsets)}`);
    else if (!same(got.sequenceIds, seq)) bad.push(`${what}: sequence ids ${JSON.stringify(got.sequenceIds)}`);
  }
  assert.equal(bad.length, 0, `${bad.length} of ${records.length} vectors differ, e.g.:\n${bad.slice(0, 5).join('\n')}`);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

test('every ner.json sentence matches Python', () => check('tokens_ner.jsonl.gz', 5343));

test('adversarial, long, pair and truncation cases match Python', () => check('tokens_adversarial.jsonl.gz'));
