#!/usr/bin/env bash
# The whole test suite: Python (pytest), then the Kotlin SDK's JVM tests against a demo bundle
# built here (ONNX; the SDK's parity tests compare with vectors the Python side generated), then
# the Android demo app's compile-check against the SDK's classes.
# Run from the repository root with the dev install active:  bash tests/run-all.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1

python -m pytest "$@"

mbja-build --quiet --target onnx --no-verify --out build/demo-bundle
mvn -B -ntp -f android-demo/sdk/pom.xml test -Dmbja.bundle="$PWD/build/demo-bundle"
# compiles MainActivity.kt against the Android API stubs and the classes the test run just built
mvn -B -ntp -q -f android-demo/app/compile-check/pom.xml compile
echo "android-demo/app compile-check: ok"
