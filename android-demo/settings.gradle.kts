// The demo app and the SDK as an Android library. The SDK's own build (and its JVM tests) is
// Maven: sdk/pom.xml. Gradle only compiles the same sources for Android.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "mbja-android-demo"
include(":sdk", ":app")
