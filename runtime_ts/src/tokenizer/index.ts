/**
 * The Japanese tokenizer of the TypeScript runtime: transformers' `BertJapaneseTokenizer` (MeCab +
 * unidic-lite, WordPiece) id for id, over a bundle's compiled dictionary read in place.
 */
export { Tokenizer } from './tokenizer.js';
export type { Encoding, EncodeOptions, Padding, TokenizerFiles, Truncation } from './tokenizer.js';
