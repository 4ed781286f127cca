// The SDK as an Android library, compiled from the same sources as the Maven build (pom.xml).
// Its JVM tests (JUnit 5, ONNX Runtime for the JVM) run with Maven only, so Gradle skips them.
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
}

android {
    namespace = "io.mbja"
    compileSdk = 35
    defaultConfig {
        minSdk = 26 // java.nio.file
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets {
        getByName("main") {
            java.setSrcDirs(listOf("src/main/kotlin"))
            manifest.srcFile("src/android/AndroidManifest.xml")
        }
        getByName("test") {
            java.setSrcDirs(emptyList<String>())
            kotlin.setSrcDirs(emptyList<String>())
            resources.setSrcDirs(emptyList<String>())
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    // ai.onnxruntime for Android (the JVM artifact in pom.xml has the same API).
    api("com.microsoft.onnxruntime:onnxruntime-android:1.23.2")
    // LiteRT for LiteRtEngine; drop it (and use EngineKind.ONNX only) to save ~3 MB per ABI.
    api("org.tensorflow:tensorflow-lite:2.16.1")
}
