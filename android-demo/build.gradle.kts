// Plugin versions for both modules. Android Studio may offer to upgrade them; any AGP 8.x with
// Kotlin 2.x works (the SDK sources use nothing newer than Kotlin 1.9 and Java 8 + java.nio.file).
plugins {
    id("com.android.application") version "8.7.3" apply false
    id("com.android.library") version "8.7.3" apply false
    id("org.jetbrains.kotlin.android") version "2.4.21" apply false
}
