#!/usr/bin/env bash
# Runs the whole district demo in one process: embedded MQTT broker, gateway, simulator,
# embedded store and HTTP API, on localhost. Extra arguments go to `gateway demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smart-district/target}"
exec cargo run --locked -p gateway -- demo "$@"
