#!/usr/bin/env bash
# issue 18, session 15: r25 distilled from the static r100-ftmix3 (bench train dyncp --teacher),
# K1 from the shipped r25 (-ftmixe2), K2 pruned from r50-ftmix3 (50 % -> 25 % over the first quarter)
# on mix-diverse480-espeak480 (built by train_queue10.sh R)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
W=build/issue18/work
L=build/issue18/logs
B=.venv/bin/bench
M2=build/data/mix-diverse480-espeak480
T=$C/dyncp/dyncp-small-r100-ftmix3
mkdir -p $L
case "$1" in
  K1) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-ftmixe2 \
       --teacher $T --teacher-weight 0.5 --steps 3000 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 \
       --threads 1 --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-small-r25-kd1 --work $W/dyncp-small-r25-kd1 \
       > $L/train-dyncp-small-r25-kd1.out 2>&1 ;;
  K2) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0.25 --init $C/dyncp/dyncp-small-r50-ftmix3 \
       --teacher $T --teacher-weight 0.5 --steps 3000 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 \
       --threads 1 --lr 3e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-small-r25-kd2 --work $W/dyncp-small-r25-kd2 \
       > $L/train-dyncp-small-r25-kd2.out 2>&1 ;;
esac
case "$1" in
  K3) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-kd1 \
       --teacher $T --teacher-weight 0.5 --steps 3000 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 \
       --threads 1 --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-small-r25-kd3 --work $W/dyncp-small-r25-kd3 \
       > $L/train-dyncp-small-r25-kd3.out 2>&1 ;;
esac
# telephone-band rounds (the second rule in docs/decisions.md): mix-diverse480-espeak480 + 240
# telephone-channel diverse utterances (bench data make --diverse --effect telephone --split train --seed 4 --n 240)
M3=build/data/mix-diverse480-espeak480-tel240
case "$1" in
  T0|T1|T2)
     if [ ! -d $M3 ]; then
       mkdir -p $M3/clean $M3/noisy
       for sub in clean noisy; do
         for f in "$PWD/$M2/$sub/"*.wav; do ln -s "$(readlink -f "$f")" "$M3/$sub/$(basename "$f")"; done
         for f in "$PWD/build/data/diverse-tel-train-seed4-n240/$sub/"*.wav; do
           ln -s "$f" "$M3/$sub/diverse-tel-train-seed4-n240-$(basename "$f")"; done
       done
       { cat $M2/README.md; printf '```\nbench data make --diverse --effect telephone --split train --seed 4 --n 240 --out build/data/diverse-tel-train-seed4-n240\n```\n'; } > $M3/README.md
     fi ;;
esac
case "$1" in
  T1) W8=0.5 ;;
  T2) W8=0.8 ;;
esac
case "$1" in
  T1|T2) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-kd3 \
       --teacher $T --teacher-weight $W8 --steps 3000 --data $M3 --n-utts 1200 --ckpt-every 100 --max-minutes 600 \
       --threads 1 --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-small-r25-tel${1#T} --work $W/dyncp-small-r25-tel${1#T} \
       > $L/train-dyncp-small-r25-tel${1#T}.out 2>&1 ;;
esac
# dyncp-full telephone rounds (the third rule in docs/decisions.md), 1,000 steps each from -ftmix2
TF=$C/dyncp/dyncp-full-r100-ftmix2
case "$1" in
  F100) $B train dyncp --config dyncp-full --keep-ratio 1.0 --ratio-warmup 0 --init $C/dyncp/dyncp-full-r100-ftmix2 \
       --steps 1000 --data $M3 --n-utts 1200 --ckpt-every 50 --log-every 50 --max-minutes 600 --threads 1 \
       --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-full-r100-tel1 --work $W/dyncp-full-r100-tel1 \
       > $L/train-dyncp-full-r100-tel1.out 2>&1 ;;
  F50|F25) R=${1#F}; $B train dyncp --config dyncp-full --keep-ratio 0.$R --ratio-warmup 0 \
       --init $C/dyncp/dyncp-full-r$R-ftmix2 --teacher $TF --teacher-weight 0.5 \
       --steps 1000 --data $M3 --n-utts 1200 --ckpt-every 50 --log-every 50 --max-minutes 600 --threads 1 \
       --lr 2e-4 --lr-final 1e-5 --out $C/dyncp/dyncp-full-r$R-tel1 --work $W/dyncp-full-r$R-tel1 \
       > $L/train-dyncp-full-r$R-tel1.out 2>&1 ;;
esac
