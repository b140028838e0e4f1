#!/usr/bin/env bash
# issue 18, seventh session: the reported dyncp-full models (r100/r50 -tel1, r25 -wi75) on the board ports
# (models/candidates-issue18/images-full-boards.toml): int8 and C tables where missing, every board image, then the
# netduinoplus2 images on QEMU (the STM32F405 port) on the shipped set, run RUN (default s17-full-netduinoplus2)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
B=.venv/bin/bench
RUN=${1:-s17-full-netduinoplus2}
set -e
[ -d build/nsnet2/calib-seed2-n24 ] || $B data make --split train --seed 2 --n 24 --out build/nsnet2/calib-seed2-n24
I=""
for m in dyncp-full-r100-tel1 dyncp-full-r50-tel1 dyncp-full-r25-wi75; do
  [ -f $C/dyncp/$m/int8.npz ] || $B quantize $C/dyncp/$m --calib build/nsnet2/calib-seed2-n24
  [ -f build/issue18/gen/$m/dyncp_params.c ] || $B export c $C/dyncp/$m --out-dir build/issue18/gen/$m
  I="$I --image $m-netduinoplus2"
done
$B images build --spec $C/images-full-boards.toml --out build/issue18/images-full-boards
# shellcheck disable=SC2086
$B run --target qemu-netduinoplus2 --manifest-dir build/issue18/images-full-boards --run-id $RUN $I
