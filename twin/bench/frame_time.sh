#!/bin/sh
# Frame time of the twin at 3840×2160, off-screen, with the Hubin district and with it tiled
# 10× (360 buildings, 100 zones, 16,700 bays), fed by the synthetic source (every overlay busy:
# crowd markers, bays, a fire beacon, glow). Each frame waits for the GPU to finish.
#
#   twin/bench/frame_time.sh TWIN_BIN OUT_DIR [SECONDS] [WARMUP]
#
# Writes OUT_DIR/hubin-x1.json and OUT_DIR/hubin-x10.json (see twin::bench::Summary).
set -eu
TWIN=${1:?twin binary}
OUT=${2:?output folder}
SECS=${3:-20}
WARM=${4:-8}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FONT=${FONT:-}
mkdir -p "$OUT"
for n in 1 10; do
    "$TWIN" --config "$ROOT/config/districts/hubin.toml" --synthetic --tile $n --size 3840x2160 \
        --bench "$SECS" --bench-warmup "$WARM" --bench-out "$OUT/hubin-x$n.json" \
        ${FONT:+--font "$FONT"} > "$OUT/hubin-x$n.log" 2>&1 || { tail -20 "$OUT/hubin-x$n.log"; exit 1; }
    cat "$OUT/hubin-x$n.json"
done
