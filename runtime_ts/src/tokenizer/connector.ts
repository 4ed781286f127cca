import type { DictionaryFile } from './dictionaryFile.js';

/**
 * Connection costs between context classes (`matrix.bin`): the ONLY code that knows the matrix's
 * layout, so a change of it touches this module and format.ts alone.
 *
 * Version 2: two byte planes of n_left * n_right cells, `high` (i8) then `low` (u8), with
 * `cost = high * 256 + low` (split so that deflate packs them better). The cost of a node B
 * following a node A is the cell `B.left * n_right + A.right`. Both planes are views on the
 * file's bytes (42 MB for unidic-lite).
 */
export class Connector {
  /** Rows: left context classes of the following node. */
  readonly nLeft: number;
  /** Columns: right context classes of the preceding node. */
  readonly nRight: number;
  readonly high: Int8Array;
  readonly low: Uint8Array;

  constructor(file: DictionaryFile) {
    this.nLeft = file.param('n_left');
    this.nRight = file.param('n_right');
    if (this.nLeft < 1 || this.nRight < 1) throw file.corrupt('empty connection matrix');
    this.high = file.i8('high');
    this.low = file.u8('low');
  }

  /** Cost of a node whose left class is `left` following a node whose right class is `right`. */
  cost(left: number, right: number): number {
    const i = left * this.nRight + right;
    return this.high[i] * 256 + this.low[i];
  }
}
