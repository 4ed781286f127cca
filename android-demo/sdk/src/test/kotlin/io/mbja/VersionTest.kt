package io.mbja

import io.mbja.bundle.Json
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Test
import java.nio.file.Files

class VersionTest {
    /** The format the SDK reads is the one the Python toolchain writes into every bundle. */
    @Test
    fun readsTheFormatTheToolchainWrites() {
        val manifest = Json.parse(Files.readString(TestData.bundleDir.resolve("manifest.json"))) as Map<*, *>
        assertEquals("mbja-bundle", manifest["format"])
        assertEquals(Version.BUNDLE_FORMAT.toLong(), (manifest["format_version"] as Number).toLong())
    }
}
