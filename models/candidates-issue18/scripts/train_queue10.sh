#!/usr/bin/env bash
# issue 18, session 14: a fourth nsnet2-small round (N); r25 on a mix that weights the default recipe
# twice as much (480 diverse + 480 espeak-ng default-recipe utterances) to hold the shipped set (R)
cd "$(dirname "$0")/../../.."
C=models/candidates-issue18
W=build/issue18/work
L=build/issue18/logs
B=.venv/bin/bench
M2=build/data/mix-diverse480-espeak480
case "$1" in
  N) $B train nsnet2 --config nsnet2-small --init $C/nsnet2/nsnet2-small-ftmix3 --steps 3000 \
       --data build/data/mix-diverse480-espeak240 --n-utts 720 --ckpt-every 100 --max-minutes 600 --threads 1 \
       --lr 2e-4 --lr-final 1e-5 --out $C/nsnet2/nsnet2-small-ftmix4 --work $W/nsnet2-small-ftmix4 \
       > $L/train-nsnet2-small-ftmix4.out 2>&1 ;;
  R) if [ ! -d build/data/train-seed3-n240 ]; then
       $B data make --seed 3 --out build/data/train-seed3-n240 --split train --n 240 > $L/make-espeak-train-seed3.log 2>&1 || exit 1
     fi
     if [ ! -d $M2 ]; then
       mkdir -p $M2/clean $M2/noisy
       for s in build/data/diverse-train-seed1-n480 build/data/train-seed1-n240 build/data/train-seed3-n240; do
         for sub in clean noisy; do
           for f in "$PWD/$s/$sub/"*.wav; do ln -s "$f" "$M2/$sub/$(basename $s)-$(basename $f)"; done
         done
       done
       printf '# Mixed train set\n\nSymbolic links to three generated sets (their README.md give the details):\n\n' > $M2/README.md
       for s in build/data/diverse-train-seed1-n480 build/data/train-seed1-n240 build/data/train-seed3-n240; do
         printf '```\n%s\n```\n\n' "$(sed -n '/^```$/{n;p;q}' $s/README.md)" >> $M2/README.md
       done
     fi
     $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-ftmix \
       --steps 2500 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 --threads 1 --lr 2e-4 --lr-final 1e-5 \
       --out $C/dyncp/dyncp-small-r25-ftmixe --work $W/dyncp-small-r25-ftmixe > $L/train-dyncp-small-r25-ftmixe.out 2>&1 ;;
esac
case "$1" in
  R2) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-ftmixe \
       --steps 4000 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 --threads 1 --lr 2e-4 --lr-final 1e-5 \
       --out $C/dyncp/dyncp-small-r25-ftmixe2 --work $W/dyncp-small-r25-ftmixe2 > $L/train-dyncp-small-r25-ftmixe2.out 2>&1 ;;
esac
case "$1" in
  N5) $B train nsnet2 --config nsnet2-small --init $C/nsnet2/nsnet2-small-ftmix4 --steps 3000 \
       --data build/data/mix-diverse480-espeak240 --n-utts 720 --ckpt-every 100 --max-minutes 600 --threads 1 \
       --lr 2e-4 --lr-final 1e-5 --out $C/nsnet2/nsnet2-small-ftmix5 --work $W/nsnet2-small-ftmix5 \
       > $L/train-nsnet2-small-ftmix5.out 2>&1 ;;
esac
case "$1" in
  R3) $B train dyncp --config dyncp-small --keep-ratio 0.25 --ratio-warmup 0 --init $C/dyncp/dyncp-small-r25-ftmixe2 \
       --steps 6000 --data $M2 --n-utts 960 --ckpt-every 100 --max-minutes 600 --threads 1 --lr 2e-4 --lr-final 1e-5 \
       --out $C/dyncp/dyncp-small-r25-ftmixe3 --work $W/dyncp-small-r25-ftmixe3 > $L/train-dyncp-small-r25-ftmixe3.out 2>&1 ;;
esac
