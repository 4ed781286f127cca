/**
 * Inputs that are easy to get wrong: each gives a correct result or a clear TokenizerError, never a
 * crash, a hang or a stack overflow. Expected token lists here come from the vectors or from the
 * tokenizer itself on an equivalent input; the long look-ahead cases whose output Python computed
 * are in tokens_adversarial.jsonl.gz (tokenizer.test.ts), the rest assert properties only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbjaError, TokenizerError } from '../src/errors.js';
import { Tokenizer, type Encoding } from '../src/tokenizer/index.js';
import { bundleDir, readJsonl } from './support.js';

const tok = await Tokenizer.fromDirectory(bundleDir());
const nerTexts = readJsonl('tokens_ner.jsonl.gz').records.map((r) => r.text as string);

/** Every span lies inside the text, in order, and starts on a character boundary. */
function assertSane(text: string, enc: Encoding): void {
  const n = enc.inputIds.length;
  for (const a of [enc.tokens, enc.offsets, enc.attentionMask, enc.tokenTypeIds, enc.sequenceIds]) assert.equal(a.length, n);
  let last = 0;
  enc.offsets.forEach((s, i) => {
    if (s === null) return;
    assert.ok(s[0] >= last && s[0] <= s[1] && s[1] <= text.length, `${enc.tokens[i]} ${s} in ${text.length} chars`);
    const c = text.charCodeAt(s[0]);
    assert.ok(!(c >= 0xDC00 && c < 0xE000), `span starts inside a surrogate pair: ${enc.tokens[i]} ${s}`);
    last = s[0];
  });
}

test('empty and whitespace-only text give [CLS] [SEP]', () => {
  for (const t of ['', ' ', '\u3000', '\t\n ', '\u0000', '\u0000abc']) {
    const enc = tok.encode(t);
    assert.deepEqual(enc.tokens, ['[CLS]', '[SEP]'], JSON.stringify(t));
    assert.deepEqual(enc.offsets, [null, null]);
    assert.deepEqual(enc.sequenceIds, [null, null]);
    assert.deepEqual(enc.attentionMask, [1, 1]);
  }
  assert.deepEqual(tok.tokenize(''), []);
  assert.deepEqual(tok.words(''), []);
});

test('NUL ends the MeCab piece, as in the reference', () => {
  assert.deepEqual(tok.encode('東京都\u0000大阪').tokens, tok.encode('東京都').tokens);
  assert.deepEqual(tok.encode('a\u0000b[MASK]c\u0000d').tokens, ['[CLS]', 'a', '[MASK]', 'c', '[SEP]']);
  assert.deepEqual(tok.words('東京都\u0000大阪'), tok.words('東京都'));
});

test('lone surrogates are refused with their index', () => {
  for (const [t, index] of [['a\uD800b', 1], ['\uDFFF', 0], ['x\u0000\uD83D', 2], ['😀\uDE00', 2]] as const) {
    assert.throws(() => tok.encode(t), (e: unknown) => e instanceof TokenizerError &&
      e.message.includes('lone surrogate') && e.message.includes(`index ${index}`), JSON.stringify(t));
  }
  assert.throws(() => tok.encode('fine', { pair: 'bad\uDC00' }), (e: unknown) => e instanceof MbjaError &&
    e.message.includes('pair') && e.message.includes('index 3'));
  assert.throws(() => tok.tokenize('\uD800'), TokenizerError);
  assert.throws(() => tok.words('\uD800'), TokenizerError);
  assert.throws(() => tok.encodeBatch(['ok', 'x\uDBFF']), TokenizerError);
});

test('non-strings and bad options are refused', () => {
  for (const v of [null, undefined, 42, ['a'], { text: 'a' }]) {
    assert.throws(() => tok.encode(v as unknown as string), TokenizerError);
    assert.throws(() => tok.tokenize(v as unknown as string), TokenizerError);
    assert.throws(() => tok.words(v as unknown as string), TokenizerError);
  }
  assert.throws(() => tok.encode('a', { pair: 5 as unknown as string }), TokenizerError);
  assert.throws(() => tok.encode('a', { maxLength: -1 }), TokenizerError);
  assert.throws(() => tok.encode('a', { maxLength: 1.5 }), TokenizerError);
  assert.throws(() => tok.encode('a', { truncation: 'sideways' as never }), TokenizerError);
  assert.throws(() => tok.encode('a', { padding: 'lots' as never }), TokenizerError);
  assert.throws(() => tok.encodeBatch(['a', 'b'], { pairs: ['c'] }), TokenizerError);
});

test('emoji and astral characters get UTF-16 spans', () => {
  const text = '😀家族👍🏽いいね𠮷野家';
  const enc = tok.encode(text);
  assertSane(text, enc);
  assert.deepEqual(enc.offsets[1], [0, 2], 'the emoji is two UTF-16 units');
  assert.ok(enc.tokens.includes('[UNK]'));
});

test('control characters and odd whitespace', () => {
  for (const t of ['\u0001\u0002\u001f\u007f\u0080\u009f制御文字', 'a\u2028b\u0085c\u001cd\u200be\uFEFF', '\uFFFF',
    '\uFFFE\uFFFE']) {
    assertSane(t, tok.encode(t));
  }
});

test('100,000 characters of ner text work', () => {
  let text = '';
  for (let i = 0; text.length < 100_000; i++) text += nerTexts[(i * 7919) % nerTexts.length];
  text = text.slice(0, 100_000);
  if (text.charCodeAt(text.length - 1) >= 0xD800 && text.charCodeAt(text.length - 1) < 0xDC00) text = text.slice(0, -1);
  const full = tok.encode(text, { truncation: false });
  assertSane(text, full);
  assert.ok(full.inputIds.length > 30_000, `${full.inputIds.length} tokens`);
  assert.equal(tok.encode(text).inputIds.length, 512, "truncated to the bundle's model_max_length");
  assert.equal(tok.tokenize(text).length, full.inputIds.length - 2);
  // the first sentence tokenizes as on its own unless MeCab joins across the boundary
  assert.deepEqual(full.tokens.slice(0, 5), tok.encode(text.slice(0, 200), { truncation: false }).tokens.slice(0, 5));
  // the words are the normalised text's non-space stretches, in order
  const norm = text.normalize('NFKC');
  let at = 0;
  for (const w of tok.words(text)) {
    const i = norm.indexOf(w, at);
    assert.ok(w.length > 0 && i >= at, `word ${JSON.stringify(w)} not found after ${at}`);
    at = i + w.length;
  }
});

test("MeCab's 65,535-byte look-ahead: Python's results, and a clear error where it cuts a character", () => {
  // the reference's own outputs around the window (the wrap after 65,535 bytes of whitespace drops
  // everything after it; a cut character is an error in Python too)
  const long = readJsonl('tokens_adversarial.jsonl.gz').records.filter((r) => (r.text as string).length > 60_000);
  assert.ok(long.length >= 10, `${long.length} long vectors`);
  for (const r of long) {
    const text = r.text as string;
    if (r.error !== undefined) {
      assert.throws(() => tok.encode(text), (e: unknown) => e instanceof TokenizerError && e.message.includes('65,535'),
        `${text.length} chars`);
    } else {
      assert.deepEqual(tok.encode(text, { truncation: false }).tokens, r.tokens, `${text.length} chars`);
    }
  }
  // the same cut one character later, on a kanji: still an error, not a crash or a hang
  assert.throws(() => tok.encode(' '.repeat(65_534) + '漢字'),
    (e: unknown) => e instanceof TokenizerError && e.message.includes('65,535'));
  // long texts that stay under the window behave like short ones
  assert.deepEqual(tok.encode(' '.repeat(1000) + '東京都').tokens, tok.encode('東京都').tokens);
});

test('API shape: special ids, vocabulary, padding and pairs', () => {
  assert.equal(tok.modelMaxLength, 512);
  for (const [s, id] of [['[CLS]', tok.clsId], ['[SEP]', tok.sepId], ['[PAD]', tok.padId], ['[MASK]', tok.maskId],
    ['[UNK]', tok.unkId]] as const) {
    assert.equal(tok.tokenToId(s), id);
    assert.equal(tok.idToToken(id), s);
  }
  assert.equal(tok.idToToken(-1), '[UNK]');
  assert.equal(tok.tokenToId('no such token, surely'), undefined);
  assert.ok(tok.vocabSize > 1000);
  const enc = tok.encode('東京都に住む', { pair: '彼は', maxLength: 16, padding: 'max_length' });
  assert.equal(enc.inputIds.length, 16);
  assert.equal(enc.tokens[15], '[PAD]');
  assert.equal(enc.offsets[15], null);
  assert.equal(enc.attentionMask[15], 0);
  assert.equal(enc.sequenceIds[15], null);
  assert.deepEqual(tok.encode('東京[MASK]都').offsets, [null, [0, 2], [2, 8], [8, 9], null]);
  assert.deepEqual(tok.encode('東京[MASK]都').sequenceIds, [null, 0, 0, 0, null]);
  const batch = tok.encodeBatch(['東京', '東京都に住む山田太郎'], { padding: true });
  assert.equal(batch[0].inputIds.length, batch[1].inputIds.length);
  assert.deepEqual(batch[1], tok.encode('東京都に住む山田太郎'));
  assert.deepEqual(tok.encodeBatch(['東京'], { pairs: ['都'] })[0], tok.encode('東京', { pair: '都' }));
});
