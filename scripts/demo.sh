#!/usr/bin/env bash
# Runs the whole district demo: embedded MQTT broker, gateway, simulator, embedded store and
# HTTP API on localhost, and the 3D twin beside it: in a window when a display is present
# (DISPLAY or WAYLAND_DISPLAY), otherwise as a PNG snapshot rewritten every 30 s into
# data/demo/twin.png. Extra arguments go to `gateway demo` (see `--help`; `--twin off` skips
# the twin).
#
# The gateway is built first and the district answers as soon as it runs; the twin (Bevy)
# takes longer to build the first time, so it builds in the background and joins the running
# demo when it is ready (its progress shows in the demo's output).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/packages.sh
# The twin renders with Vulkan (Mesa's software renderer where there is no GPU) and draws
# Chinese labels with a CJK font.
packages=(mesa-vulkan-drivers libvulkan1 fonts-wqy-microhei)
twin_features=()
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  packages+=(libx11-6 libxcursor1 libxi6 libxrandr2 libxkbcommon-x11-0)
  twin_features=(--features window)
fi
ensure_packages "${packages[@]}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/smart-district/target}"

echo "building the gateway (the first time: a few minutes; then seconds)" >&2
cargo build --locked -p gateway --bin gateway

twin_off=false
for a in "$@"; do [[ "$a" == "off" || "$a" == "--twin=off" ]] && twin_off=true; done
build_log=""
if ! $twin_off; then
  mkdir -p data
  build_log="data/twin-build.log"
  : > "$build_log"
  # Cargo's build lock is held only by this background build; the demo runs the gateway
  # binary directly, so neither waits for the other. `--tests` resolves features as
  # `cargo test -p twin` in scripts/test.sh does, so one Bevy build serves both.
  (
    status=0
    cargo build --locked -p twin --tests "${twin_features[@]}" >> "$build_log" 2>&1 || status=$?
    echo "twin build exit status: $status" >> "$build_log"
  ) &
fi
exec "$CARGO_TARGET_DIR/debug/gateway" demo --twin-bin "$CARGO_TARGET_DIR/debug/twin" \
  ${build_log:+--twin-build-log "$build_log"} "$@"
