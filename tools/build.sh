#!/usr/bin/env bash
# Configure and build into build/ (or $KVMLITE_BUILD_DIR); extra arguments go
# to cmake's configure step.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${KVMLITE_BUILD_DIR:-build}
cmake -S . -B "$dir" "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
