"""The probe train mix: symbolic links + concatenated labels of the diverse train set and the default split."""
# run from the repository root: .venv/bin/python models/candidates-issue18/scripts/make_probes_mix.py
import csv
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

a = Path('build/data/diverse-train-seed1-n480')
b = Path('build/dyncp/train-seed1-n480')
out = Path('build/data/probes-mix-div480-espeak480')
for sub in ('clean', 'noisy'):
    (out / sub).mkdir(parents=True, exist_ok=True)
    for s in (a, b):
        for f in sorted((s / sub).glob('*.wav')):
            dst = out / sub / f.name
            if not dst.exists():
                os.symlink(f.resolve(), dst)
rows, cols = [], []
for s in (a, b):
    with open(s / 'labels.csv', newline='') as fh:
        r = csv.DictReader(fh)
        cols += [c for c in r.fieldnames if c not in cols]
        rows += list(r)
with open(out / 'labels.csv', 'w', newline='') as fh:
    w = csv.DictWriter(fh, fieldnames=cols)
    w.writeheader()
    w.writerows(rows)
for hop in (160, 256):
    t = pa.concat_tables([pq.read_table(a / f'frames_hop{hop}.parquet'), pq.read_table(b / f'frames_hop{hop}.parquet')])
    pq.write_table(t, out / f'frames_hop{hop}.parquet')
(out / 'README.md').write_text(
    "# Probe train mix\n\nSymbolic links and concatenated labels of build/data/diverse-train-seed1-n480 "
    "(`bench data make --diverse --seed 1 --split train --n 480`) and build/dyncp/train-seed1-n480 "
    "(`bench data make --split train --seed 1 --n 480`).\n")
print(len(rows), 'utterances')
