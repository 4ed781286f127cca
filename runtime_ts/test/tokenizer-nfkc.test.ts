/**
 * The runtime's NFKC equals Python 3.11's `unicodedata` (Unicode 14) on every one of the 1,112,064
 * code points -- NFKC and the "joins the text before it" flag of the offset chunking -- using
 * `nfkc.jsonl.gz` (written from Python: every code point NFKC changes or that joins; all others are
 * unchanged and do not join). Also shows that the bridge is needed on this engine: plain
 * `normalize('NFKC')` differs from Python on the characters newer Unicode versions added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBridged, joinsPrevious, nfkc } from '../src/tokenizer/nfkc.js';
import { readJsonl } from './support.js';

test('every code point normalises and joins as in Python', () => {
  const { header, records } = readJsonl('nfkc.jsonl.gz');
  assert.equal(header.unicode, '14.0.0', 'the bridge targets Unicode 14 exactly; the vectors come from another Python');
  const listed = new Map<number, { nfkc: string; joins: boolean }>();
  for (const r of records) listed.set(r.cp as number, { nfkc: r.nfkc as string, joins: r.joins as boolean });
  const bad: string[] = [];
  let plainDiffers = 0;
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    const s = String.fromCodePoint(cp);
    const want = listed.get(cp) ?? { nfkc: s, joins: false };
    const got = nfkc(s);
    const joins = joinsPrevious(cp);
    if (got !== want.nfkc || joins !== want.joins) {
      bad.push(`U+${cp.toString(16).toUpperCase()}: ${JSON.stringify(got)}/${joins}, Python ${JSON.stringify(want.nfkc)}/${want.joins}`);
    }
    if (s.normalize('NFKC') !== want.nfkc) plainDiffers++;
  }
  assert.equal(bad.length, 0, `${bad.length} code points differ, e.g. ${bad.slice(0, 5).join('; ')}`);
  console.log(`[mbja nfkc] plain normalize('NFKC') (Unicode ${process.versions.unicode}) differs from Python on ` +
    `${plainDiffers} single code points; the bridged nfkc on 0`);
});

test('characters newer than Unicode 14 block, reorder and compose as in Python', () => {
  // expected values from Python 3.11 unicodedata.normalize("NFKC", ...)
  const cases: [string, string][] = [
    ['a\u0897\u0316', 'a\u0897\u0316'],                 // a Unicode 16 mark: a starter in 14, no reordering
    ['\u{1E030}\u0301', '\u{1E030}\u0301'],             // Cyrillic modifier letter (15): no compatibility mapping
    ['\uA7F1', '\uA7F1'],
    ['x\u{1CCD6}y', 'x\u{1CCD6}y'],
    ['\u{16D67}\u{16D67}', '\u{16D67}\u{16D67}'],       // Kirat Rai (16): no composition
    ['\u{105D2}\u0307', '\u{105D2}\u0307'],
    ['\u30AB\u3099\u{16D67}\uFF76\uFF9E', '\u30AC\u{16D67}\u30AC'],   // normalised on both sides of it
    ['e\u1AC1\u0327', '\u0229\u1AC1'],                  // Unicode 14 marks: the engine's own data
    ['\u0C46\u0C3C\u0C56', '\u0C48\u0C3C'],
    ['\uA7F2\u0327', '\u00C7'],
  ];
  for (const [text, want] of cases) assert.equal(nfkc(text), want, JSON.stringify(text));
  assert.ok(isBridged(0x16D67) && !isBridged(0x16D66) && !isBridged(0x3099));
});
