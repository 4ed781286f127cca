package io.mbja

/** The task a bundle's model head was built for (`task` in manifest.json). */
public enum class Task(public val id: String) {
    TOKEN_CLASSIFICATION("token-classification"),
    SEQUENCE_CLASSIFICATION("sequence-classification"),
    FILL_MASK("fill-mask"),
    FEATURE_EXTRACTION("feature-extraction"),
    ;

    public companion object {
        /** The task whose manifest id is [id], or null for one this SDK does not know. */
        @JvmStatic
        public fun fromId(id: String): Task? = entries.firstOrNull { it.id == id }
    }
}
