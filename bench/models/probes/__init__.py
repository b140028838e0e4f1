"""Linear probes on the DynCP keep-mask bits: VAD, noise class and F0 per frame (arXiv 2602.10666).

features  mask bits (block-major), packing to the target's uint32 words, labels per frame
linear    numpy L2 logistic / softmax / ridge fits (deterministic L-BFGS)
quant     FloatProbes / QuantProbes, the int16 export, probes.npz, C arrays
golden    integer scores exactly as firmware/models/dyncp/dyncp_probes.c, dequantisation
readout   the runner's API: run_probes / decode_scores -> ProbeOutputs, score_set
native    ctypes binding of the C probes (host gcc)
train     fit, export and evaluate: main(argv) behind `bench probes train`
evaluate  test-set figures and baselines: main(argv) behind `bench probes evaluate`

docs/probes.md describes the method, the formats and the results.
"""

from bench.models.probes.golden import dequantize, probe_scores
from bench.models.probes.quant import FloatProbes, QuantProbes, load_npz, probe_names, quantize
from bench.models.probes.readout import ProbeOutputs, decode_scores, run_probes, score_set

__all__ = [
    "FloatProbes",
    "ProbeOutputs",
    "QuantProbes",
    "decode_scores",
    "dequantize",
    "load_npz",
    "probe_names",
    "probe_scores",
    "quantize",
    "run_probes",
    "score_set",
]
