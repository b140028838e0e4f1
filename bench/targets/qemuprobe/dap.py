"""The debug access port of an emulated Cortex-M, served over QEMU's gdbstub.

pyOCD talks to a probe in ADIv5 terms: debug port (DP) and access port (AP) register reads and
writes. This module is that port for a QEMU machine: an ARM SW-DP (DPIDR 0x2BA01477, as on a
Cortex-M4 part) with one AHB-AP (IDR 0x24770011) whose TAR/DRW/BDn memory transfers become
gdbstub memory reads and writes (`m`/`M`). pyOCD's own DP, AP, ROM-table, CoreSight discovery,
Cortex-M core, register, reset and flash-programming code run unchanged on top of it.

QEMU 7.2 models the Cortex-M4's system control space (CPUID, AIRCR, CFSR, HFSR, BFAR, MMFAR, ...)
but not its debug logic. What it lacks, this module provides, and says so (`regs.SERVED`):

    DHCSR  0xE000EDF0   halt / run / step / status: translated to gdbstub ^C, `c`, `s`, stop replies
    DCRSR  0xE000EDF4   core register transfer: translated to gdbstub `p` / `P` (DCRDR holds the value)
    DCRDR  0xE000EDF8
    DEMCR  0xE000EDFC   kept here (VC_CORERESET decides whether a reset halts at the reset vector)
    DFSR   0xE000ED30   why the core halted (HALTED, BKPT, VCATCH), write-one-to-clear
    AIRCR  0xE000ED0C   a write with SYSRESETREQ or VECTRESET becomes `monitor system_reset`
                        (flash is kept; VECTRESET resets the whole machine there, not only the core)
    ROM table 0xE00FF000 and the component ID registers of the SCS, DWT, FPB and ITM: the
                        Cortex-M4's values (QEMU reads 0 there, or an ID block without PIDR4)

Everything else (flash, RAM, peripherals, the SCS registers QEMU has) goes to QEMU. A memory
access while the core runs halts it, accesses and resumes (gdbstub all-stop mode): with
`-icount` the virtual clock stands still meanwhile, so instruction counts do not change.

No pyOCD import here: errors are DapFault / DapGone, which the probe turns into pyOCD's
TransferFaultError / ProbeDisconnected.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.targets.qemuprobe import regs as R
from bench.targets.qemuprobe.gdbremote import GdbRemote, GdbRemoteError


class DapFault(Exception):
    """A memory access the bus refused (a fault on the AHB-AP): R.STICKYERR is set."""

    def __init__(self, message: str, address: int | None = None):
        super().__init__(message)
        self.address = address


class DapGone(Exception):
    """The emulator is gone (QEMU exited or its gdbstub connection broke)."""


@dataclass
class CoreState:
    debugen: bool = True      # QEMU starts with -S: held by its debugger, halted in debug state
    halted: bool = True
    step: bool = False
    maskints: bool = False
    reset_st: bool = False    # sticky, cleared by a R.DHCSR read
    retire_st: bool = False   # sticky, cleared by a R.DHCSR read
    dfsr: int = 0
    dcrdr: int = 0
    demcr: int = 0
    notes: list[str] = field(default_factory=list)


class EmulatedDap:
    """The SW-DP + AHB-AP of one QEMU machine (see the module docstring).

    `gdb` is a connected GdbRemote; `on_write(addr, data)` is told of every memory write that
    reached QEMU (the probe keeps the emulated board's flash from it); `describe_exit()` says why
    QEMU is gone (its stderr), for the error that reports it.
    """

    def __init__(self, gdb: GdbRemote, on_write: Callable[[int, bytes], None] | None = None,
                 describe_exit: Callable[[], str] | None = None, log: Callable[[str], None] | None = None):
        self.gdb = gdb
        self.on_write = on_write
        self.describe_exit = describe_exit or (lambda: "")
        self.log = log or (lambda msg: None)
        self.core = CoreState()
        self.ctrl_stat = 0
        self.select = 0
        self.rdbuff = 0
        self.csw = R.CSW_RESET
        self.tar = 0
        self._regs: dict[str, tuple[int, int]] = {}  # name -> (regnum, bytes)
        self._lock = threading.RLock()
        self._noted: set[str] = set()
        self.counts = {"halts": 0, "resumes": 0, "steps": 0, "resets": 0, "reg_reads": 0, "reg_writes": 0,
                       "mem_reads": 0, "mem_writes": 0, "bytes_read": 0, "bytes_written": 0,
                       "transparent_halts": 0}

    # -- set-up ---------------------------------------------------------------------------------------

    def attach(self) -> None:
        """Read the register description and the stop state (QEMU -S: halted at reset)."""
        with self._lock:
            try:
                self._regs = {n: (r.regnum, r.bitsize // 8) for n, r in self.gdb.registers().items()}
            except GdbRemoteError as e:
                raise self._gone(e) from e
            self.core.halted = not self.gdb.running

    def _note_once(self, key: str, msg: str) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.core.notes.append(msg)
            self.log(msg)

    def _gone(self, e: Exception) -> DapGone:
        why = self.describe_exit()
        return DapGone(f"the emulator is gone ({e})" + (f": {why}" if why else ""))

    # -- DP ---------------------------------------------------------------------------------------------

    def read_dp(self, addr: int) -> int:
        with self._lock:
            a = addr & 0xC
            if a == R.DP_IDR:
                return R.DPIDR_VALUE
            if a == R.DP_CTRL_STAT:
                v = self.ctrl_stat
                if v & R.CDBGPWRUPREQ:
                    v |= R.CDBGPWRUPACK
                if v & R.CSYSPWRUPREQ:
                    v |= R.CSYSPWRUPACK
                return v & 0xFFFFFFFF
            if a == R.DP_SELECT:
                return self.select
            return self.rdbuff  # RDBUFF: the last AP read

    def write_dp(self, addr: int, value: int) -> None:
        with self._lock:
            a = addr & 0xC
            if a == R.DP_ABORT:
                clear = 0
                if value & R.ABORT_STKERRCLR:
                    clear |= R.STICKYERR
                if value & R.ABORT_STKCMPCLR:
                    clear |= R.STICKYCMP
                if value & R.ABORT_ORUNERRCLR:
                    clear |= R.STICKYORUN
                self.ctrl_stat &= ~clear
            elif a == R.DP_CTRL_STAT:
                sticky_bits = R.STICKYERR | R.STICKYCMP | R.STICKYORUN
                sticky = self.ctrl_stat & sticky_bits
                # JTAG-style clearing: writing 1 to a sticky bit clears it
                sticky &= ~(value & sticky_bits)
                self.ctrl_stat = (value & ~(R.CSYSPWRUPACK | R.CDBGPWRUPACK | sticky_bits)) | sticky
            elif a == R.DP_SELECT:
                self.select = value & 0xFFFFFFFF

    # -- AP ---------------------------------------------------------------------------------------------

    def _ap_reg(self, addr: int) -> tuple[int, int]:
        """(APSEL, register offset) of an AP access: APSEL and bank from SELECT, A[3:2] from addr."""
        return (self.select >> 24) & 0xFF, (self.select & 0xF0) | (addr & 0xC)

    def read_ap(self, addr: int) -> int:
        with self._lock:
            apsel, reg = self._ap_reg(addr)
            if apsel != 0:
                v = 0  # no AP there: IDR (and everything) reads 0
            elif reg == R.AP_IDR:
                v = R.AHB_AP_IDR
            elif reg == R.AP_BASE:
                v = R.ROM_TABLE | 0x3
            elif reg == R.AP_CFG:
                v = 0
            elif reg == R.AP_CSW:
                v = self.csw | R.CSW_DEVICEEN
            elif reg == R.AP_TAR:
                v = self.tar
            elif reg == R.AP_DRW:
                v = self._drw_read()
            elif R.AP_BD0 <= reg < R.AP_BD0 + 16:
                v = self._word_read((self.tar & ~0xF) + (reg - R.AP_BD0))
            else:
                v = 0
            self.rdbuff = v
            return v

    def write_ap(self, addr: int, value: int) -> None:
        with self._lock:
            apsel, reg = self._ap_reg(addr)
            value &= 0xFFFFFFFF
            if apsel != 0:
                return
            if reg == R.AP_CSW:
                size = value & R.CSW_SIZE
                if size > 2:
                    size = 2  # unsupported sizes read back as a supported one (ADIv5)
                self.csw = (value & R.CSW_WRITABLE & ~R.CSW_SIZE) | size
            elif reg == R.AP_TAR:
                self.tar = value
            elif reg == R.AP_DRW:
                self._drw_write(value)
            elif R.AP_BD0 <= reg < R.AP_BD0 + 16:
                self._word_write((self.tar & ~0xF) + (reg - R.AP_BD0), value)

    def read_ap_multiple(self, addr: int, count: int) -> list[int]:
        with self._lock:
            apsel, reg = self._ap_reg(addr)
            if apsel == 0 and reg == R.AP_DRW and count > 1 and self._bulk_ok():
                data = self.read_memory(self.tar, 4 * count)
                self.tar = (self.tar + 4 * count) & 0xFFFFFFFF
                words = [int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4)]
                self.rdbuff = words[-1]
                return words
            return [self.read_ap(addr) for _ in range(count)]

    def write_ap_multiple(self, addr: int, values: list[int]) -> None:
        with self._lock:
            apsel, reg = self._ap_reg(addr)
            if apsel == 0 and reg == R.AP_DRW and len(values) > 1 and self._bulk_ok():
                data = b"".join((v & 0xFFFFFFFF).to_bytes(4, "little") for v in values)
                self.write_memory(self.tar, data)
                self.tar = (self.tar + len(data)) & 0xFFFFFFFF
                return
            for v in values:
                self.write_ap(addr, v)

    def _bulk_ok(self) -> bool:
        return (self.csw & R.CSW_SIZE) == 2 and (self.csw & R.CSW_ADDRINC) == R.CSW_ADDRINC_SINGLE and not self.tar & 3

    def _size(self) -> int:
        return 1 << (self.csw & R.CSW_SIZE)

    def _advance(self) -> None:
        if self.csw & R.CSW_ADDRINC:
            self.tar = (self.tar + self._size()) & 0xFFFFFFFF

    def _drw_read(self) -> int:
        n, addr = self._size(), self.tar
        lane = addr & (4 - n) & 3 if n < 4 else 0
        data = self.read_memory(addr & ~(n - 1), n)
        self._advance()
        return int.from_bytes(data, "little") << (8 * lane)

    def _drw_write(self, value: int) -> None:
        n, addr = self._size(), self.tar
        lane = addr & (4 - n) & 3 if n < 4 else 0
        data = ((value >> (8 * lane)) & ((1 << (8 * n)) - 1)).to_bytes(n, "little")
        self.write_memory(addr & ~(n - 1), data)
        self._advance()

    def _word_read(self, addr: int) -> int:
        return int.from_bytes(self.read_memory(addr, 4), "little")

    def _word_write(self, addr: int, value: int) -> None:
        self.write_memory(addr, value.to_bytes(4, "little"))

    # -- the bus: served registers, or QEMU ------------------------------------------------------------------

    @staticmethod
    def _served(addr: int) -> bool:
        """Whether the probe answers this word itself (debug registers, ROM table, ID blocks)."""
        if addr in (R.DHCSR, R.DCRSR, R.DCRDR, R.DEMCR, R.DFSR):
            return True
        if R.ROM_TABLE <= addr < R.ROM_TABLE + 0x1000:
            return True
        return any(base + 0xFD0 <= addr < base + 0x1000 for base in R.ID_BLOCKS)

    @staticmethod
    def _overlaps_served(addr: int, n: int) -> bool:
        """Whether [addr, addr + n) touches the private peripheral bus (then word by word)."""
        return addr + n > 0xE0000000 and addr < 0xE0100000

    def read_memory(self, addr: int, n: int) -> bytes:
        """n bytes at addr as the core's bus sees them through the debug port."""
        with self._lock:
            addr &= 0xFFFFFFFF
            if not self._overlaps_served(addr, n):
                return self._qemu_read(addr, n)
            out = bytearray()
            a, end = addr, addr + n
            while a < end:
                w = a & ~3
                take = min(w + 4, end) - a
                if self._served(w):
                    out += self._served_read(w).to_bytes(4, "little")[a - w:a - w + take]
                else:
                    out += self._qemu_read(a, take)
                a += take
            return bytes(out)

    def write_memory(self, addr: int, data: bytes) -> None:
        with self._lock:
            addr &= 0xFFFFFFFF
            if not self._overlaps_served(addr, len(data)):
                self._qemu_write(addr, data)
                return
            a, pos = addr, 0
            while pos < len(data):
                w = a & ~3
                take = min(4 - (a - w), len(data) - pos)
                if self._served(w):
                    if take == 4:
                        value = int.from_bytes(data[pos:pos + 4], "little")
                    else:  # a narrow write to a debug register: merge into the current value
                        cur = bytearray(self._peek_served(w).to_bytes(4, "little"))
                        cur[a - w:a - w + take] = data[pos:pos + take]
                        value = int.from_bytes(cur, "little")
                    self._served_write(w, value)
                elif w == R.AIRCR and take == 4:
                    self._aircr_write(int.from_bytes(data[pos:pos + 4], "little"))
                else:
                    self._qemu_write(a, data[pos:pos + take])
                a += take
                pos += take

    # -- QEMU through the gdbstub ----------------------------------------------------------------------------

    def _run_halted(self, fn: Callable[[], bytes | None]) -> bytes | None:
        """fn() with the core halted: all-stop gdbstubs accept nothing else while the target runs."""
        was_running = self.gdb.running
        try:
            if was_running:
                self._poll()
                was_running = self.gdb.running
            if was_running:
                self.counts["transparent_halts"] += 1
                self.gdb.interrupt()
            try:
                return fn()
            finally:
                if was_running and not self.core.halted and self.gdb.connected:
                    self.gdb.cont()
        except GdbRemoteError as e:
            if not self.gdb.connected:
                raise self._gone(e) from e
            raise

    def _qemu_read(self, addr: int, n: int) -> bytes:
        try:
            data = self._run_halted(lambda: self.gdb.read_memory(addr, n))
        except GdbRemoteError as e:
            self.ctrl_stat |= R.STICKYERR
            raise DapFault(f"memory read of {n} bytes at 0x{addr:08x} faulted ({e})", addr) from e
        assert data is not None
        self.counts["mem_reads"] += 1
        self.counts["bytes_read"] += n
        return data

    def _qemu_write(self, addr: int, data: bytes) -> None:
        try:
            self._run_halted(lambda: self.gdb.write_memory(addr, data))
        except GdbRemoteError as e:
            self.ctrl_stat |= R.STICKYERR
            raise DapFault(f"memory write of {len(data)} bytes at 0x{addr:08x} faulted ({e})", addr) from e
        self.counts["mem_writes"] += 1
        self.counts["bytes_written"] += len(data)
        if self.on_write is not None:
            self.on_write(addr, data)

    def _poll(self) -> None:
        """Pick up a stop the running target reported on its own (a breakpoint, an exit)."""
        if not self.gdb.running:
            return
        try:
            stop = self.gdb.poll_stop()
        except GdbRemoteError as e:
            raise self._gone(e) from e
        if stop is None:
            return
        if stop.exited:
            raise self._gone(GdbRemoteError(f"QEMU reported {stop.raw.decode(errors='replace')}"))
        self.core.halted = True
        self.core.dfsr |= R.DFSR_BKPT if stop.code == 5 else R.DFSR_EXTERNAL

    # -- the debug registers ----------------------------------------------------------------------------

    def _peek_served(self, addr: int) -> int:
        """A served register's value without the side effects of reading it."""
        c = self.core
        if addr == R.DCRDR:
            return c.dcrdr
        if addr == R.DEMCR:
            return c.demcr
        if addr == R.DHCSR:
            return self._dhcsr_value()
        return 0

    def _dhcsr_value(self) -> int:
        c = self.core
        v = R.S_REGRDY
        if c.debugen:
            v |= R.C_DEBUGEN
            if c.halted:
                v |= R.C_HALT
        if c.halted:
            v |= R.S_HALT
        if c.maskints:
            v |= R.C_MASKINTS
        if c.reset_st:
            v |= R.S_RESET_ST
        if c.retire_st or not c.halted:
            v |= R.S_RETIRE_ST
        return v

    def _served_read(self, addr: int) -> int:
        c = self.core
        if addr == R.DHCSR:
            self._poll()
            v = self._dhcsr_value()
            c.reset_st = False
            c.retire_st = False
            return v
        if addr == R.DCRDR:
            return c.dcrdr
        if addr == R.DCRSR:
            return 0
        if addr == R.DEMCR:
            return c.demcr
        if addr == R.DFSR:
            return c.dfsr
        if R.ROM_TABLE <= addr < R.ROM_TABLE + 0xFD0:
            off = addr - R.ROM_TABLE
            if off < 4 * len(R.ROM_ENTRIES):
                return R.ROM_ENTRIES[off // 4]
            return R.ROM_MEMTYPE if off == 0xFCC else 0
        for base, ids in R.ID_BLOCKS.items():
            if base + 0xFD0 <= addr < base + 0x1000:
                return ids[(addr - base - 0xFD0) // 4]
        return 0

    def _served_write(self, addr: int, value: int) -> None:
        c = self.core
        if addr == R.DHCSR:
            self._dhcsr_write(value)
        elif addr == R.DCRDR:
            c.dcrdr = value & 0xFFFFFFFF
        elif addr == R.DCRSR:
            self._dcrsr_write(value)
        elif addr == R.DEMCR:
            c.demcr = value & 0x010F07F1
        elif addr == R.DFSR:
            c.dfsr &= ~value
        # ROM table and ID registers are read-only

    def _dhcsr_write(self, value: int) -> None:
        if (value & 0xFFFF0000) != R.DBGKEY:
            return  # ignored without the key, as on silicon
        c = self.core
        self._poll()
        c.debugen = bool(value & R.C_DEBUGEN)
        c.maskints = bool(value & R.C_MASKINTS)
        if c.maskints:
            self._note_once("maskints", "R.DHCSR.C_MASKINTS is not emulated (QEMU's single step masks "
                            "interrupts by itself)")
        try:
            if not c.debugen or not value & R.C_HALT:
                if c.halted and c.debugen and value & R.C_STEP:
                    self.gdb.step()
                    self.counts["steps"] += 1
                    c.retire_st = True
                    c.dfsr |= R.DFSR_HALTED
                elif c.halted:
                    self.gdb.cont()
                    self.counts["resumes"] += 1
                    c.halted = False
                    c.retire_st = True
            elif not c.halted:
                self.gdb.interrupt()
                self.counts["halts"] += 1
                c.halted = True
                c.dfsr |= R.DFSR_HALTED
        except GdbRemoteError as e:
            raise self._gone(e) from e

    def _reg(self, name: str) -> tuple[int, int] | None:
        return self._regs.get(name)

    def _dcrsr_write(self, value: int) -> None:
        c = self.core
        sel, write = value & 0x7F, bool(value & R.DCRSR_REGWNR)
        out: list[int] = []

        def transfer() -> None:
            if write:
                self._core_reg_write(sel, c.dcrdr)
            else:
                out.append(self._core_reg_read(sel))

        try:
            self._run_halted(transfer)
            if write:
                self.counts["reg_writes"] += 1
            else:
                c.dcrdr = out[0] & 0xFFFFFFFF
                self.counts["reg_reads"] += 1
        except GdbRemoteError as e:
            if not self.gdb.connected:
                raise self._gone(e) from e
            self._note_once(f"reg{sel}", f"core register {sel} not accessible through the gdbstub ({e}); "
                            "it reads as 0")
            c.dcrdr = 0 if not write else c.dcrdr

    def _core_reg_read(self, sel: int) -> int:
        if 64 <= sel < 96:  # S0..S31: halves of D0..D15 when the stub has no single registers
            s = self._reg(f"s{sel - 64}")
            if s:
                return self.gdb.read_register(s[0], s[1])
            d = self._reg(f"d{(sel - 64) // 2}")
            if d is None:
                return self._unavailable(sel)
            v = self.gdb.read_register(d[0], d[1])
            return (v >> 32) if sel & 1 else v & 0xFFFFFFFF
        if sel == 20:
            parts = [self._reg(n) for n in R.CFBP]
            if not all(parts):
                return self._unavailable(sel)
            v = 0
            for shift, p in zip((24, 16, 8, 0), parts, strict=True):
                assert p is not None
                v |= (self.gdb.read_register(p[0], p[1]) & 0xFF) << shift
            return v
        for name in R.CORE_REGS.get(sel, ()):
            r = self._reg(name)
            if r:
                return self.gdb.read_register(r[0], r[1])
        return self._unavailable(sel)

    def _core_reg_write(self, sel: int, value: int) -> None:
        if 64 <= sel < 96:
            s = self._reg(f"s{sel - 64}")
            if s:
                self.gdb.write_register(s[0], value, s[1])
                return
            d = self._reg(f"d{(sel - 64) // 2}")
            if d is None:
                self._unavailable(sel)
                return
            cur = self.gdb.read_register(d[0], d[1])
            cur = ((cur & 0xFFFFFFFF) | (value << 32)) if sel & 1 else ((cur & ~0xFFFFFFFF) | value)
            self.gdb.write_register(d[0], cur, d[1])
            return
        if sel == 20:
            parts = [self._reg(n) for n in R.CFBP]
            if not all(parts):
                self._unavailable(sel)
                return
            for shift, p in zip((24, 16, 8, 0), parts, strict=True):
                assert p is not None
                self.gdb.write_register(p[0], (value >> shift) & 0xFF, p[1])
            return
        for name in R.CORE_REGS.get(sel, ()):
            r = self._reg(name)
            if r:
                self.gdb.write_register(r[0], value, r[1])
                return
        self._unavailable(sel)

    def _unavailable(self, sel: int) -> int:
        names = {17: "MSP", 18: "PSP", 20: "CONTROL/FAULTMASK/BASEPRI/PRIMASK"}
        self._note_once(f"reg{sel}", f"core register {names.get(sel, sel)} (R.DCRSR REGSEL {sel}) is not in the "
                        "gdbstub's register description (QEMU 7.2 does not expose it): reads as 0, writes ignored")
        return 0

    # -- reset ------------------------------------------------------------------------------------------------

    def _aircr_write(self, value: int) -> None:
        if (value & 0xFFFF0000) == R.AIRCR_VECTKEY and value & (R.AIRCR_SYSRESETREQ | R.AIRCR_VECTRESET):
            if value & R.AIRCR_VECTRESET and not value & R.AIRCR_SYSRESETREQ:
                self._note_once("vectreset", "VECTRESET resets the whole emulated machine (QEMU system_reset), "
                                "not only the core")
            self.reset()
            rest = value & ~(R.AIRCR_SYSRESETREQ | R.AIRCR_VECTRESET | 0x2)
            if rest & 0x700:  # PRIGROUP set in the same write: pass it on
                self._qemu_write(R.AIRCR, rest.to_bytes(4, "little"))
            return
        self._qemu_write(R.AIRCR, value.to_bytes(4, "little"))

    def reset(self, halt: bool | None = None) -> None:
        """A system reset: the machine restarts from its reset vector with the flash kept; the core
        then halts there if R.C_DEBUGEN and R.DEMCR.VC_CORERESET are set (or `halt`), else it runs."""
        with self._lock:
            c = self.core
            try:
                self._poll()
                if self.gdb.running:
                    self.gdb.interrupt()
                self.gdb.monitor("system_reset")
            except GdbRemoteError as e:
                raise self._gone(e) from e
            self.counts["resets"] += 1
            c.halted = True
            c.reset_st = True
            c.retire_st = False
            catch = (c.debugen and bool(c.demcr & R.DEMCR_VC_CORERESET)) if halt is None else halt
            if catch:
                c.dfsr |= R.DFSR_VCATCH
            else:
                try:
                    self.gdb.cont()
                except GdbRemoteError as e:
                    raise self._gone(e) from e
                c.halted = False

    def hold_in_reset(self) -> None:
        """nRESET asserted: the core stops (the machine is reset when it is released)."""
        with self._lock:
            try:
                self._poll()
                if self.gdb.running:
                    self.gdb.interrupt()
            except GdbRemoteError as e:
                raise self._gone(e) from e
            self.core.halted = True
