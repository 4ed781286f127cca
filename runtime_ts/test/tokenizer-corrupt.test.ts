/**
 * Missing, truncated, foreign and corrupt dictionary files, vocabularies and settings are refused at
 * load with a BundleError that names the file -- never a crash or a silently wrong segmentation
 * later. Each case loads the bundle's files into memory and replaces one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BundleError } from '../src/errors.js';
import { Tokenizer, type TokenizerFiles } from '../src/tokenizer/index.js';
import { bundleDir } from './support.js';

const dir = bundleDir();
const names = ['trie.bin', 'lexicon.bin', 'matrix.bin', 'chars.bin'];
const original = new Map(names.map((n) => [n, new Uint8Array(readFileSync(resolve(dir, 'dictionary', n)))]));
const vocab = new Uint8Array(readFileSync(resolve(dir, 'vocab.txt')));
const settings: unknown = JSON.parse(readFileSync(resolve(dir, 'tokenizer.json'), 'utf8'));

/** The bundle's files, with `name` replaced by what `edit` makes of a copy (null: missing). */
function files(name?: string, edit?: (b: Uint8Array) => Uint8Array | null): TokenizerFiles {
  return {
    vocab, settings,
    dictionary: (n) => {
      const b = original.get(n);
      if (b === undefined) throw new Error(`no ${n}`);
      if (n !== name || edit === undefined) return b;
      const e = edit(b.slice());
      if (e === null) throw new Error(`no ${n}`);
      return e;
    },
  };
}

function refused(f: TokenizerFiles, words: string[], verifyChecksums = false): void {
  assert.throws(() => Tokenizer.fromFiles(f, { verifyChecksums }), (e: unknown) => {
    assert.ok(e instanceof BundleError, `not a BundleError: ${String(e)}`);
    for (const w of words) assert.ok(e.message.includes(w), `'${w}' not in: ${e.message}`);
    return true;
  });
}

const le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);

test('the intact bundle loads with and without CRCs, also from unaligned bytes', () => {
  const want = Tokenizer.fromFiles(files()).encode('東京都に住む').inputIds;
  assert.deepEqual(Tokenizer.fromFiles(files(), { verifyChecksums: true }).encode('東京都に住む').inputIds, want);
  const unaligned = (b: Uint8Array) => { const c = new Uint8Array(b.length + 1); c.set(b, 1); return c.subarray(1); };
  assert.deepEqual(Tokenizer.fromFiles(files('trie.bin', unaligned)).encode('東京都に住む').inputIds, want);
});

test('a missing file', () => { for (const n of names) refused(files(n, () => null), [n, 'missing']); });
test('a truncated header', () => refused(files('chars.bin', (b) => b.subarray(0, 40)), ['chars.bin', 'truncated']));
test('a truncated payload', () => refused(files('trie.bin', (b) => b.subarray(0, b.length - 8)), ['trie.bin', 'truncated']));
test('another magic', () => refused(files('trie.bin', (b) => { b[0] = 0x58; return b; }), ['trie.bin', 'magic']));
test('another kind', () => refused(files('chars.bin', (b) => { b.set([0x54, 0x52, 0x49, 0x45], 4); return b; }),
  ['chars.bin', 'TRIE']));
test('another version', () => refused(files('matrix.bin', (b) => { le(b).setUint16(8, 99, true); return b; }),
  ['matrix.bin', 'version 99']));
test('a header describing another size', () => refused(files('chars.bin', (b) => {
  le(b).setUint32(32, le(b).getUint32(32, true) + 100, true);
  return b;
}), ['chars.bin', 'header']));

test('a flipped payload byte fails the CRC when checked', () => {
  const flip = (b: Uint8Array) => { b[b.length >> 1] ^= 0x01; return b; };
  for (const n of names) refused(files(n, flip), [n, 'CRC'], true);
});

test('indices out of range are refused even without the CRC', () => {
  refused(files('chars.bin', (b) => { b[64 + 0x41] = 0x7F; return b; }), ['chars.bin', 'inconsistent']);
  refused(files('lexicon.bin', (b) => { le(b).setUint16(64, 0xFFFF, true); return b; }), ['lexicon.bin', 'matrix']);
  refused(files('trie.bin', (b) => { le(b).setInt32(64, 0x7FFFFFFF - 3, true); return b; }), ['trie.bin', 'inconsistent']);
});

test('a bad vocabulary or settings', () => {
  refused({ ...files(), vocab: new Uint8Array([0x61, 0xFF, 0x0A]) }, ['vocab.txt', 'UTF-8']);
  refused({ ...files(), settings: [] }, ['tokenizer.json']);
  refused({ ...files(), settings: { do_lower_case: true } }, ['tokenizer.json', 'do_lower_case']);
  refused({ ...files(), settings: { word_tokenizer: 'sudachi' } }, ['word_tokenizer']);
  refused({ ...files(), settings: { unk_token: 3 } }, ['unk_token']);
  Tokenizer.fromFiles({ ...files(), settings: { do_lower_case: 0 } });     // Python's False == 0
});

test('fromDirectory names the missing file', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'mbja-ts-'));
  try {
    await assert.rejects(Tokenizer.fromDirectory(empty), (e: unknown) => e instanceof BundleError &&
      e.message.includes(empty) && /vocab\.txt|tokenizer\.json|dictionary/.test(e.message));
  } finally {
    rmSync(empty, { recursive: true });
  }
});
