// The demo app: copies a bundle into its assets at build time, installs it into filesDir on first
// start (Bundles.install) and runs NER with the SDK. Plain android.widget views, no AndroidX.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

/** The bundle to ship: gradle.properties `mbja.bundle`, relative to android-demo/. */
val bundleDir: File = rootProject.file(providers.gradleProperty("mbja.bundle").getOrElse("../dist/demo"))
val bundleAssets = layout.buildDirectory.dir("generated/mbja-assets")

val copyBundle by tasks.registering(Copy::class) {
    description = "Copies the mbja bundle into the app's assets (assets/bundle/)."
    doFirst {
        if (!bundleDir.resolve("manifest.json").isFile) {
            throw GradleException(
                "no bundle at $bundleDir: build one from the repository root with " +
                    "`mbja-build --target all --quantize dynamic-int8 --out dist/demo`, or set mbja.bundle in gradle.properties",
            )
        }
    }
    from(bundleDir)
    into(bundleAssets.map { it.dir("bundle") })
}

android {
    namespace = "io.mbja.demo"
    compileSdk = 35
    defaultConfig {
        applicationId = "io.mbja.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
    }
    sourceSets {
        getByName("main") {
            java.setSrcDirs(listOf("src/main/kotlin"))
            assets.srcDir(bundleAssets)
        }
    }
    androidResources {
        // Stored, not deflated: the first-start copy streams them faster, and the APK barely grows.
        noCompress += listOf("onnx", "tflite", "bin", "txt")
    }
    buildTypes {
        getByName("release") {
            isMinifyEnabled = false
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

tasks.named("preBuild") { dependsOn(copyBundle) }

dependencies {
    implementation(project(":sdk"))
}
