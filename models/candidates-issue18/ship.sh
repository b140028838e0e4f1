#!/usr/bin/env bash
# issue 18: ship retrained candidates in place of the shipped models, then rebuild everything that
# is derived from them (int8, mask probes, C tables, the nsnet2 meter tables, the TFLM reference,
# the images, eval.json). Run from anywhere in the checkout:
#   bash models/candidates-issue18/ship.sh dyncp R100_CAND R50_CAND R25_CAND
#   bash models/candidates-issue18/ship.sh dyncp-one RATIO CAND   (one ratio: 100, 50 or 25)
#   bash models/candidates-issue18/ship.sh nsnet2 NSNET2_CAND
#   bash models/candidates-issue18/ship.sh images
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd); cd "$ROOT"
export PYTHONPATH=$ROOT
PY=$ROOT/.venv/bin/python
B="$PY -m bench.cli"
CALIB=build/nsnet2/calib-seed2-n24   # bench data make --split train --seed 2 --n 24 --out build/nsnet2/calib-seed2-n24
C=models/candidates-issue18
ship() {  # cand dest
  local src=$1 dst=$2
  rm -f "$dst"/{weights.npz,norm.npz,config.json,train.log,COMMAND.txt,int8.npz,eval.json}
  cp "$src"/{weights.npz,config.json,train.log,COMMAND.txt} "$dst"/
  if [ -f "$src/norm.npz" ]; then cp "$src/norm.npz" "$dst"/; fi
  printf '# shipped from %s (issue 18): this folder holds a copy of its weights\n' "$src" >> "$dst/COMMAND.txt"
}
case "$1" in
  dyncp)
    ship $C/dyncp/$2 models/dyncp/dyncp-small-r100
    ship $C/dyncp/$3 models/dyncp/dyncp-small-r50
    ship $C/dyncp/$4 models/dyncp/dyncp-small-r25
    for r in 100 50 25; do $B quantize models/dyncp/dyncp-small-r$r --calib $CALIB; done
    (cd $ROOT && $B probes train models/dyncp/dyncp-small-r50) > /tmp/probes-r50.log 2>&1 &
    (cd $ROOT && $B probes train models/dyncp/dyncp-small-r25) > /tmp/probes-r25.log 2>&1 &
    wait
    $B export c models/dyncp/dyncp-small-r100 models/dyncp/dyncp-small-r50 models/dyncp/dyncp-small-r25 ;;
  dyncp-one)
    ship $C/dyncp/$3 models/dyncp/dyncp-small-r$2
    $B quantize models/dyncp/dyncp-small-r$2 --calib $CALIB
    if [ "$2" != 100 ]; then $B probes train models/dyncp/dyncp-small-r$2; fi
    $B export c models/dyncp/dyncp-small-r100 models/dyncp/dyncp-small-r50 models/dyncp/dyncp-small-r25 ;;
  nsnet2)
    ship $C/nsnet2/$2 models/nsnet2/nsnet2-small
    $B quantize models/nsnet2/nsnet2-small --calib $CALIB
    $B export c models/nsnet2/nsnet2-small
    $PY - <<'PY'
from pathlib import Path
from bench.models.mpgru.nsnet2task import Nsnet2GruTask
from bench.models.mpgru.nsnet2meter import write_meter_tables
print(write_meter_tables(Nsnet2GruTask(Path("models/nsnet2/nsnet2-small"))))
PY
    $B export tflite nsnet2-small --out firmware_images/nsnet2-small-exit4.tflite ;;
  images)
    $B images build
    $B evaluate models/dyncp/dyncp-small-r100 models/dyncp/dyncp-small-r50 models/dyncp/dyncp-small-r25 ;;
esac
