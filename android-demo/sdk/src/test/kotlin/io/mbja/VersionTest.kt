package io.mbja

import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test

class VersionTest {
    @Test
    fun readsBundleFormatOne() = assertEquals(1, Version.BUNDLE_FORMAT)
}
