"""The register map an emulated Cortex-M4 debug port serves (see bench.targets.qemuprobe.dap):
ADIv5 DP and MEM-AP registers, the ARMv7-M debug registers, and the CoreSight component IDs and
ROM table of a Cortex-M4 r0p1 (QEMU reads 0 there)."""

from __future__ import annotations

# -- ADIv5 DP (ARM IHI 0031) -----------------------------------------------------------------------
DP_ABORT = 0x0  # write
DP_IDR = 0x0  # read
DP_CTRL_STAT = 0x4
DP_SELECT = 0x8
DP_RDBUFF = 0xC
DPIDR_VALUE = 0x2BA01477  # ARM SW-DP v1 as on Cortex-M3/M4 parts
CSYSPWRUPACK = 1 << 31
CSYSPWRUPREQ = 1 << 30
CDBGPWRUPACK = 1 << 29
CDBGPWRUPREQ = 1 << 28
STICKYERR = 1 << 5
STICKYCMP = 1 << 4
STICKYORUN = 1 << 1
ABORT_STKCMPCLR = 1 << 1
ABORT_STKERRCLR = 1 << 2
ABORT_ORUNERRCLR = 1 << 4

# -- MEM-AP ------------------------------------------------------------------------------------------
AP_CSW, AP_TAR, AP_DRW = 0x00, 0x04, 0x0C
AP_BD0 = 0x10
AP_CFG, AP_BASE, AP_IDR = 0xF4, 0xF8, 0xFC
AHB_AP_IDR = 0x24770011
ROM_TABLE = 0xE00FF000
CSW_SIZE = 0x7
CSW_ADDRINC = 0x30
CSW_ADDRINC_SINGLE = 0x10
CSW_DEVICEEN = 1 << 6
CSW_RESET = 0x23000040 | 0x2  # DbgSwEnable off, HPROT privileged data, DeviceEn, word size
CSW_WRITABLE = 0xFF000F37

# -- ARMv7-M debug registers (ARM DDI 0403, C1.6) ----------------------------------------------------
DFSR = 0xE000ED30
AIRCR = 0xE000ED0C
DHCSR = 0xE000EDF0
DCRSR = 0xE000EDF4
DCRDR = 0xE000EDF8
DEMCR = 0xE000EDFC
DBGKEY = 0xA05F << 16
C_DEBUGEN, C_HALT, C_STEP, C_MASKINTS = 1 << 0, 1 << 1, 1 << 2, 1 << 3
S_REGRDY, S_HALT, S_SLEEP, S_LOCKUP = 1 << 16, 1 << 17, 1 << 18, 1 << 19
S_RETIRE_ST, S_RESET_ST = 1 << 24, 1 << 25
DFSR_HALTED, DFSR_BKPT, DFSR_DWTTRAP, DFSR_VCATCH, DFSR_EXTERNAL = 1, 2, 4, 8, 16
DEMCR_VC_CORERESET = 1 << 0
AIRCR_VECTKEY = 0x05FA << 16
AIRCR_VECTRESET, AIRCR_SYSRESETREQ = 1 << 0, 1 << 2
DCRSR_REGWNR = 1 << 16

# CoreSight component ID blocks (PIDR4..7, PIDR0..3, CIDR0..3 at base + 0xFD0..0xFFC), Cortex-M4 r0p1
_CID_GENERIC = (0x0D, 0xE0, 0x05, 0xB1)
_CID_ROM = (0x0D, 0x10, 0x05, 0xB1)


def _ids(pidr0: int, pidr1: int, pidr2: int, cid: tuple[int, ...], pidr4: int = 0x04) -> tuple[int, ...]:
    return (pidr4, 0, 0, 0, pidr0, pidr1, pidr2, 0, *cid)


ID_BLOCKS: dict[int, tuple[int, ...]] = {
    0xE000E000: _ids(0x0C, 0xB0, 0x0B, _CID_GENERIC),  # SCS, v7-M (part 0x00C)
    0xE0001000: _ids(0x02, 0xB0, 0x3B, _CID_GENERIC),  # DWT (0x002)
    0xE0002000: _ids(0x03, 0xB0, 0x2B, _CID_GENERIC),  # FPB (0x003)
    0xE0000000: _ids(0x01, 0xB0, 0x3B, _CID_GENERIC),  # ITM (0x001)
    ROM_TABLE: _ids(0xC4, 0xB4, 0x0B, _CID_ROM),       # Cortex-M4 ROM table
}
# ROM table entries: offsets from 0xE00FF000 to the components, present bit and format bit set
ROM_ENTRIES = (0xFFF0F003, 0xFFF02003, 0xFFF03003, 0xFFF01003, 0)
ROM_MEMTYPE = 0x1  # system memory present on the bus

SERVED = {
    "DHCSR": "halt/run/step/status through gdbstub ^C, c, s and its stop replies",
    "DCRSR/DCRDR": "core registers through gdbstub p/P",
    "DEMCR": "kept by the probe (VC_CORERESET honoured at reset)",
    "DFSR": "kept by the probe (HALTED, BKPT, VCATCH)",
    "AIRCR SYSRESETREQ/VECTRESET": "monitor system_reset (whole machine, flash kept)",
    "ROM table and component IDs": "Cortex-M4 values (QEMU does not model them)",
}

# DCRSR REGSEL -> gdb register names tried in order (ARM DDI 0403 C1.6.3)
CORE_REGS = {**{i: (f"r{i}",) for i in range(13)}, 13: ("sp", "r13"), 14: ("lr", "r14"), 15: ("pc", "r15"),
              16: ("xpsr", "cpsr"), 17: ("msp",), 18: ("psp",), 33: ("fpscr",)}
CFBP = ("control", "faultmask", "basepri", "primask")  # REGSEL 20: CONTROL[31:24]..PRIMASK[7:0]
