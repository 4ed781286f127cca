package io.mbja

/** The SDK's version and the bundle format version it reads (docs/bundle-format.md). */
public object Version {
    public const val SDK: String = "0.1.0"
    public const val BUNDLE_FORMAT: Int = 1
}
