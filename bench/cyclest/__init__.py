"""Estimated Cortex-M4 cycles on QEMU: the cm4cycles TCG plugin and its output.

QEMU counts instructions exactly (``-icount``) but has no cycle model. The plugin
(``firmware/qemu_plugin/``) costs every executed instruction with the Cortex-M4 TRM timing
tables (ARM DDI 0439: Table 3-1 and the DSP table of section 3.3.1, the load/store rules
of section 3.3.2, the FPU instruction table) and a stated flash wait-state model, and
records the cumulative ``(cycles_est, instructions)`` at every read of the timer that
bounds the firmware's measured regions. Every figure from it is an estimate and is
labelled ``cycles_est``, never "cycles".

The cost table in brief (details, sources and limitations: docs/cycles.md):

* ALU, shifts, extends, bit fields, saturation, SIMD and all multiplies/MACs
  (MUL, MLA, SMLAD, SMUAD, SMULL, SMLAL, UMLAL, ...): 1. SDIV/UDIV: 12 (TRM 2-12).
* LDR/STR single: 2, or 1 when it directly follows a load whose result is not part of
  its address (N independent loads: N + 1; nothing pipelines after a store).
  LDRD/STRD: 3. LDM/STM/PUSH/POP: 1 + N.
* Branches: 1 + P, P = 1 for an immediate target, 2 for a register target, 3 for a
  loaded one (LDR PC, POP {..., PC}: 1 + N + P, TBB/TBH: 2 + P); a conditional branch
  not taken: 1. IT: 0 after a 16-bit instruction (folded), else 1.
* FPU: VADD/VSUB/VMUL/VNEG/VABS/VCVT/VCMP/VMOV 1, VMLA/VMLS/VNMLA/VFMA/... 3,
  VDIV/VSQRT 14, VLDR/VSTR 2 (.64: 3), VLDM/VSTM/VPUSH/VPOP 1 + N words,
  VMOV of two core registers 2.
* Wait states: ``ws`` extra cycles for every taken branch whose code lies in the flash
  range (sequential fetch is assumed hidden by the prefetch buffer / ART accelerator).

``build.ensure_plugin()`` compiles the plugin (cached by content); ``regions.qemu_args()``
gives the QEMU arguments; ``regions.read_marks()`` and ``regions.regions()`` turn its
output into per-region numpy arrays.
"""

from bench.cyclest.build import build_plugin, check_qemu_plugin_support, ensure_plugin
from bench.cyclest.errors import CyclestError
from bench.cyclest.regions import CostModel, Marks, Regions, parse_marks, qemu_args, read_marks, regions

__all__ = [
    "CostModel",
    "CyclestError",
    "Marks",
    "Regions",
    "build_plugin",
    "check_qemu_plugin_support",
    "ensure_plugin",
    "parse_marks",
    "qemu_args",
    "read_marks",
    "regions",
]
