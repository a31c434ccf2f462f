#!/usr/bin/env bash
# Runs every test of the workspace. Installs the system packages the tests use (real MQTT
# clients for interop) if they are missing, then runs cargo's tests in debug.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
ensure_packages mosquitto mosquitto-clients python3-paho-mqtt
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smart-district/target}"
cargo test --workspace --locked "$@"
