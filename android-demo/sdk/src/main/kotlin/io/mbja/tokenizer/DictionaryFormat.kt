package io.mbja.tokenizer

/**
 * The compiled dictionary's binary layout (docs/dictionary-format.md): the one place in the SDK
 * that knows header fields, version and array order, as `format.py` is on the Python side.
 *
 * Every file is a 64-byte little-endian header (magic `MBJD`, kind, version, header size,
 * CRC-32 of the payload, payload size, eight kind-specific params) followed by fixed arrays whose
 * lengths follow from the params, each aligned to 8 bytes -- so they can be mapped in place.
 */
internal object DictionaryFormat {
    const val MAGIC: String = "MBJD"
    /**
     * The only version this reader accepts; the writer bumps it whenever an old reader would misread.
     * 2: `matrix.bin` holds the costs as two byte planes (high i8, low u8) instead of one i16 array.
     */
    const val VERSION: Int = 2
    const val HEADER_SIZE: Int = 64
    const val ALIGN: Int = 8
    /** Per-code-point tables cover U+0000..U+FFFF. */
    const val BMP: Int = 0x10000
    /** Bytes of one category name (ASCII, NUL padded). */
    const val NAME_BYTES: Int = 16

    /** Kind -> file name inside `dictionary/`. */
    val FILES: Map<String, String> = linkedMapOf(
        "TRIE" to "trie.bin", "LEXI" to "lexicon.bin", "CONN" to "matrix.bin", "CHAR" to "chars.bin",
    )

    /** One array of a file: element size in bytes and count. */
    class ArraySpec(val name: String, val itemSize: Int, val count: Long)

    /** Header params by name, per kind (unused trailing params are 0). */
    fun paramNames(kind: String): List<String> = when (kind) {
        "TRIE" -> listOf("n_slots", "alphabet", "n_astral", "n_keys")
        "LEXI" -> listOf("n_entries")
        "CONN" -> listOf("n_left", "n_right")
        "CHAR" -> listOf("n_categories", "n_classes", "n_unknown", "max_grouping_size", "max_lookup_bytes",
            "bos_right", "eos_left")
        else -> throw IllegalArgumentException("unknown dictionary file kind $kind")
    }

    /** The arrays of a file of [kind] in payload order (params are unsigned 32-bit, held in Longs). */
    fun layout(kind: String, p: Map<String, Long>): List<ArraySpec> = when (kind) {
        "TRIE" -> listOf(
            ArraySpec("base", 4, p.getValue("n_slots")), ArraySpec("check", 4, p.getValue("n_slots")),
            ArraySpec("code_bmp", 2, BMP.toLong()), ArraySpec("astral_cp", 4, p.getValue("n_astral")),
            ArraySpec("astral_code", 2, p.getValue("n_astral")),
        )
        "LEXI" -> p.getValue("n_entries").let { n ->
            listOf(ArraySpec("left", 2, n), ArraySpec("right", 2, n), ArraySpec("cost", 2, n))
        }
        "CONN" -> Math.multiplyExact(p.getValue("n_left"), p.getValue("n_right")).let { n ->
            listOf(ArraySpec("high", 1, n), ArraySpec("low", 1, n))
        }
        "CHAR" -> {
            val c = p.getValue("n_categories"); val k = p.getValue("n_classes"); val u = p.getValue("n_unknown")
            listOf(
                ArraySpec("class_of_bmp", 1, BMP.toLong()), ArraySpec("class_mask", 4, k),
                ArraySpec("class_category", 1, k), ArraySpec("class_length", 1, k),
                ArraySpec("class_group", 1, k), ArraySpec("class_invoke", 1, k),
                ArraySpec("category_name", 1, c * NAME_BYTES), ArraySpec("unknown_offsets", 4, c + 1),
                ArraySpec("unk_left", 2, u), ArraySpec("unk_right", 2, u), ArraySpec("unk_cost", 2, u),
            )
        }
        else -> throw IllegalArgumentException("unknown dictionary file kind $kind")
    }

    fun padded(n: Long): Long = (n + ALIGN - 1) / ALIGN * ALIGN
}
