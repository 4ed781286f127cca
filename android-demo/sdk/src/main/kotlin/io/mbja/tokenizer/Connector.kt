package io.mbja.tokenizer

import java.nio.ByteBuffer

/**
 * Connection costs between context classes (`matrix.bin`): the ONLY code that knows the
 * matrix's layout, so a change of that layout touches this class and [DictionaryFormat] alone.
 *
 * Version 2: two byte planes of n_left * n_right cells each, `high` (i8) then `low` (u8), with
 * `cost = high * 256 + low` (split so that deflate -- an APK's zip -- packs them better). The cost
 * of a node B following a node A is the cell `B.left * n_right + A.right`. Both planes stay
 * memory-mapped (42 MB for unidic-lite).
 */
internal class Connector(file: DictionaryFile) {
    /** Rows: left context classes of the following node. */
    val nLeft: Int = file.param("n_left")
    /** Columns: right context classes of the preceding node. */
    val nRight: Int = file.param("n_right")
    private val high: ByteBuffer = file.bytes("high")
    private val low: ByteBuffer = file.bytes("low")

    init {
        if (nLeft < 1 || nRight < 1) throw file.corrupt("empty connection matrix")
    }

    /** Cost of a node whose left class is [left] following a node whose right class is [right]. */
    fun cost(left: Int, right: Int): Int {
        val i = left * nRight + right
        return high.get(i).toInt() * 256 + (low.get(i).toInt() and 0xFF)
    }
}
