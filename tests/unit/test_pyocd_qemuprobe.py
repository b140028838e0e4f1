"""The emulated probe (bench/targets/qemuprobe) without QEMU: the GDB remote client against a stub
server on a socket, the emulated debug port against an in-memory gdbstub, and pyOCD's real
ConnectHelper, session, CoreSight discovery, Cortex-M core, FileProgrammer and reset running on top
of that (only QEMU is replaced, at its gdbstub). tests/qemu/test_pyocd_emulated.py runs it all
against the real QEMU."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.targets.qemuprobe import regs as D
from bench.targets.qemuprobe.dap import DapFault, EmulatedDap
from bench.targets.qemuprobe.gdbremote import (
    GdbRemote,
    GdbRemoteError,
    RegisterInfo,
    StopReply,
    checksum,
    escape,
    unescape,
)
from bench.targets.qemuprobe.machine import FlashStore, parse_board_name

FLASH, FLASH_SIZE = 0x0800_0000, 0x10_0000
RAM, RAM_SIZE = 0x2000_0000, 0x2_0000
CPUID = 0x410F_C241


# ---------------------------------------------------------------------------------------------
# An in-memory gdbstub: what EmulatedDap asks of GdbRemote
# ---------------------------------------------------------------------------------------------

class FakeGdb:
    """QEMU's netduinoplus2 behind its gdbstub, as far as the probe can tell: flash, RAM, a few
    SCB registers, the registers QEMU 7.2 describes (no MSP/PSP/CONTROL), all-stop run control."""

    REGS = {**{f"r{i}": (i, 4) for i in range(13)}, "sp": (13, 4), "lr": (14, 4), "pc": (15, 4),
            "xpsr": (25, 4), **{f"d{i}": (26 + i, 8) for i in range(16)}, "fpscr": (42, 4)}

    def __init__(self) -> None:
        self.mem: dict[int, int] = {}
        self.scb = {0xE000ED00: CPUID, 0xE000ED0C: 0xFA050000, 0xE000ED6C: 0x01111131, 0xE000ED90: 0x0000_0800,
                    0xE000EF40: 0x1011_0021, 0xE000ED78: 0, 0xE000EF48: 0, 0xE000ED28: 0, 0xE000ED2C: 0,
                    0xE000ED34: 0, 0xE000ED38: 0, 0xE000ED24: 0, 0xE0042004: 0}
        self.regs = {n: 0 for n in self.REGS}
        self.regs["xpsr"] = 0x0100_0000
        self.running = False
        self.connected = True
        self.calls: list[tuple[Any, ...]] = []
        self.pending_stop: StopReply | None = None

    def registers(self) -> dict[str, RegisterInfo]:
        return {n: RegisterInfo(n, num, 8 * nb, "") for n, (num, nb) in self.REGS.items()}

    def _mapped(self, a: int) -> bool:
        return FLASH <= a < FLASH + FLASH_SIZE or RAM <= a < RAM + RAM_SIZE or 0xE0000000 <= a < 0xE0100000

    def _check_stopped(self, what: str) -> None:
        assert not self.running, f"{what} sent while the target runs (all-stop gdbstub)"

    def read_memory(self, addr: int, n: int) -> bytes:
        self._check_stopped("m")
        self.calls.append(("m", addr, n))
        out = bytearray()
        for a in range(addr, addr + n):
            if not self._mapped(a):
                raise GdbRemoteError(f"reading at 0x{a:08x}: E14", 0x14)
            w = a & ~3
            if w in self.scb:
                out.append((self.scb[w] >> (8 * (a - w))) & 0xFF)
            else:
                out.append(self.mem.get(a, 0))
        return bytes(out)

    def write_memory(self, addr: int, data: bytes) -> None:
        self._check_stopped("M")
        self.calls.append(("M", addr, len(data)))
        for i, b in enumerate(data):
            a = addr + i
            if not self._mapped(a):
                raise GdbRemoteError(f"writing at 0x{a:08x}: E14", 0x14)
            if (a & ~3) not in self.scb and not 0xE0000000 <= a:
                self.mem[a] = b

    def _name(self, num: int) -> str:
        return next(n for n, (r, _) in self.REGS.items() if r == num)

    def read_register(self, num: int, nbytes: int = 4) -> int:
        self._check_stopped("p")
        self.calls.append(("p", num))
        return self.regs[self._name(num)]

    def write_register(self, num: int, value: int, nbytes: int = 4) -> None:
        self._check_stopped("P")
        self.calls.append(("P", num, value))
        self.regs[self._name(num)] = value

    def interrupt(self) -> StopReply:
        self.calls.append(("^C",))
        self.running = False
        return StopReply("T", 2, b"T02")

    def cont(self) -> None:
        self._check_stopped("c")
        self.calls.append(("c",))
        self.running = True

    def step(self) -> StopReply:
        self._check_stopped("s")
        self.calls.append(("s",))
        self.regs["pc"] += 2
        return StopReply("T", 5, b"T05")

    def poll_stop(self) -> StopReply | None:
        stop, self.pending_stop = self.pending_stop, None
        if stop is not None:
            self.running = False
        return stop

    def monitor(self, cmd: str) -> str:
        self._check_stopped("qRcmd")
        self.calls.append(("monitor", cmd))
        if cmd == "system_reset":
            vec = self.read_memory(FLASH, 8)
            self.regs["sp"], pc = struct.unpack("<II", vec)
            self.regs["pc"] = pc & ~1
            self.regs["xpsr"] = 0x0100_0000 if pc & 1 else 0
        return ""


@pytest.fixture
def gdb() -> FakeGdb:
    return FakeGdb()


@pytest.fixture
def dap(gdb: FakeGdb) -> EmulatedDap:
    d = EmulatedDap(gdb)  # type: ignore[arg-type]
    d.attach()
    return d


def ap(d: EmulatedDap, reg: int, apsel: int = 0) -> int:
    d.write_dp(D.DP_SELECT, (apsel << 24) | (reg & 0xF0))
    return d.read_ap(reg & 0xC)


def ap_write(d: EmulatedDap, reg: int, value: int, apsel: int = 0) -> None:
    d.write_dp(D.DP_SELECT, (apsel << 24) | (reg & 0xF0))
    d.write_ap(reg & 0xC, value)


def mem_read32(d: EmulatedDap, addr: int) -> int:
    ap_write(d, D.AP_CSW, 0x23000052)
    ap_write(d, D.AP_TAR, addr)
    return ap(d, D.AP_DRW)


def mem_write32(d: EmulatedDap, addr: int, value: int) -> None:
    ap_write(d, D.AP_CSW, 0x23000052)
    ap_write(d, D.AP_TAR, addr)
    ap_write(d, D.AP_DRW, value)


# ---------------------------------------------------------------------------------------------
# The debug port and the access port
# ---------------------------------------------------------------------------------------------

def test_dp_identity_power_up_and_sticky_errors(dap: EmulatedDap) -> None:
    assert dap.read_dp(D.DP_IDR) == 0x2BA01477
    dap.write_dp(D.DP_CTRL_STAT, D.CSYSPWRUPREQ | D.CDBGPWRUPREQ)
    cs = dap.read_dp(D.DP_CTRL_STAT)
    assert cs & D.CSYSPWRUPACK and cs & D.CDBGPWRUPACK
    with pytest.raises(DapFault, match="0x30000000"):
        mem_read32(dap, 0x3000_0000)  # unmapped: QEMU's gdbstub answers E14
    assert dap.read_dp(D.DP_CTRL_STAT) & D.STICKYERR
    dap.write_dp(D.DP_ABORT, D.ABORT_STKERRCLR)
    assert not dap.read_dp(D.DP_CTRL_STAT) & D.STICKYERR


def test_one_ahb_ap_selected_through_dp_select(dap: EmulatedDap) -> None:
    assert ap(dap, D.AP_IDR) == 0x24770011
    assert ap(dap, D.AP_BASE) == 0xE00FF003
    assert ap(dap, D.AP_IDR, apsel=1) == 0  # no second AP: the scan stops
    ap_write(dap, D.AP_CSW, 0x23000047)  # size 7 is not supported: reads back as a supported one
    assert ap(dap, D.AP_CSW) & D.CSW_SIZE == 2 and ap(dap, D.AP_CSW) & D.CSW_DEVICEEN
    ap_write(dap, D.AP_CSW, 0x23000050)
    assert ap(dap, D.AP_CSW) & D.CSW_SIZE == 0


def test_memory_through_tar_and_drw_with_lanes_and_auto_increment(dap: EmulatedDap, gdb: FakeGdb) -> None:
    mem_write32(dap, RAM, 0x44332211)
    assert mem_read32(dap, RAM) == 0x44332211
    assert ap(dap, D.AP_TAR) == RAM + 4  # single auto-increment
    ap_write(dap, D.AP_CSW, 0x23000050)  # bytes
    ap_write(dap, D.AP_TAR, RAM + 2)
    assert ap(dap, D.AP_DRW) == 0x33 << 16  # byte lane 2
    ap_write(dap, D.AP_TAR, RAM + 1)
    ap_write(dap, D.AP_DRW, 0xAB << 8)
    ap_write(dap, D.AP_CSW, 0x23000051)  # halfwords
    ap_write(dap, D.AP_TAR, RAM + 2)
    assert ap(dap, D.AP_DRW) == 0x4433 << 16
    assert mem_read32(dap, RAM) == 0x4433AB11
    mem_write32(dap, RAM + 0x10, 0xCAFE)
    ap_write(dap, D.AP_TAR, RAM + 0x14)
    assert ap(dap, D.AP_BD0) == 0xCAFE  # banked data: (TAR & ~0xF) + 0
    gdb.calls.clear()
    ap_write(dap, D.AP_CSW, 0x23000052)
    ap_write(dap, D.AP_TAR, RAM + 0x100)
    dap.write_dp(D.DP_SELECT, 0)
    dap.write_ap_multiple(D.AP_DRW, list(range(64)))
    ap_write(dap, D.AP_TAR, RAM + 0x100)
    dap.write_dp(D.DP_SELECT, 0)
    assert dap.read_ap_multiple(D.AP_DRW, 64) == list(range(64))
    assert [c[0] for c in gdb.calls] == ["M", "m"]  # one gdbstub packet each way for a block


def test_rom_table_and_component_ids_are_the_cortex_m4s(dap: EmulatedDap) -> None:
    assert [mem_read32(dap, 0xE00FF000 + 4 * i) for i in range(5)] == [0xFFF0F003, 0xFFF02003, 0xFFF03003,
                                                                      0xFFF01003, 0]
    cid = [mem_read32(dap, 0xE000EFF0 + 4 * i) for i in range(4)]
    pid = [mem_read32(dap, 0xE000EFE0 + 4 * i) for i in range(3)] + [mem_read32(dap, 0xE000EFD0)]
    assert cid == [0x0D, 0xE0, 0x05, 0xB1] and pid == [0x0C, 0xB0, 0x0B, 0x04]  # SCS v7-M, ARM
    assert mem_read32(dap, 0xE000ED00) == CPUID  # QEMU's own SCS registers pass through


def test_halt_run_step_through_dhcsr(dap: EmulatedDap, gdb: FakeGdb) -> None:
    dhcsr = mem_read32(dap, D.DHCSR)
    assert dhcsr & D.S_HALT and dhcsr & D.C_DEBUGEN and dhcsr & D.S_REGRDY  # QEMU -S: held at reset
    mem_write32(dap, D.DHCSR, D.C_DEBUGEN)  # no key: ignored, as on silicon
    assert not gdb.running
    mem_write32(dap, D.DHCSR, D.DBGKEY | D.C_DEBUGEN)
    assert gdb.running and gdb.calls[-1] == ("c",)
    dhcsr = mem_read32(dap, D.DHCSR)
    assert not dhcsr & D.S_HALT and dhcsr & D.S_RETIRE_ST
    mem_write32(dap, D.DHCSR, D.DBGKEY | D.C_DEBUGEN | D.C_HALT)
    assert not gdb.running and ("^C",) in gdb.calls
    assert mem_read32(dap, D.DHCSR) & D.S_HALT and mem_read32(dap, D.DFSR) & D.DFSR_HALTED
    mem_write32(dap, D.DFSR, D.DFSR_HALTED)  # write one to clear
    assert not mem_read32(dap, D.DFSR) & D.DFSR_HALTED
    pc = gdb.regs["pc"]
    mem_write32(dap, D.DHCSR, D.DBGKEY | D.C_DEBUGEN | D.C_STEP | D.C_MASKINTS)
    assert gdb.regs["pc"] == pc + 2 and not gdb.running and ("s",) in gdb.calls
    assert any("C_MASKINTS" in n for n in dap.core.notes)
    gdb.running = True  # the target stops by itself (a breakpoint): the next DHCSR read sees it
    dap.core.halted = False
    gdb.pending_stop = StopReply("T", 5, b"T05")
    assert mem_read32(dap, D.DHCSR) & D.S_HALT and mem_read32(dap, D.DFSR) & D.DFSR_BKPT


def test_core_registers_through_dcrsr_and_dcrdr(dap: EmulatedDap, gdb: FakeGdb) -> None:
    gdb.regs.update({"r3": 0x1234, "pc": 0x0800_01AC, "xpsr": 0x6100_0000, "d1": 0x4049_0FDB_3F80_0000})

    def read(sel: int) -> int:
        mem_write32(dap, D.DCRSR, sel)
        assert mem_read32(dap, D.DHCSR) & D.S_REGRDY
        return mem_read32(dap, D.DCRDR)

    assert read(3) == 0x1234 and read(15) == 0x0800_01AC and read(16) == 0x6100_0000
    assert read(64 + 2) == 0x3F80_0000 and read(64 + 3) == 0x4049_0FDB  # S2/S3: the halves of D1
    mem_write32(dap, D.DCRDR, 0x4000_0000)
    mem_write32(dap, D.DCRSR, D.DCRSR_REGWNR | (64 + 3))
    assert gdb.regs["d1"] == 0x4000_0000_3F80_0000
    mem_write32(dap, D.DCRDR, 0x2000_1000)
    mem_write32(dap, D.DCRSR, D.DCRSR_REGWNR | 13)
    assert gdb.regs["sp"] == 0x2000_1000
    assert read(17) == 0  # MSP: QEMU 7.2's gdbstub does not describe it
    assert any("MSP" in n and "reads as 0" in n for n in dap.core.notes)


def test_register_access_while_running_halts_and_resumes(dap: EmulatedDap, gdb: FakeGdb) -> None:
    mem_write32(dap, D.DHCSR, D.DBGKEY | D.C_DEBUGEN)
    assert gdb.running
    gdb.calls.clear()
    assert mem_read32(dap, RAM) == 0  # FakeGdb asserts nothing but ^C is sent while running
    assert [c[0] for c in gdb.calls] == ["^C", "m", "c"] and gdb.running
    assert dap.counts["transparent_halts"] == 1


def _flash_vectors(gdb: FakeGdb, sp: int, pc: int) -> None:
    for i, b in enumerate(struct.pack("<II", sp, pc)):
        gdb.mem[FLASH + i] = b


@pytest.mark.parametrize("catch", [True, False])
def test_sysresetreq_is_a_system_reset_that_keeps_flash(dap: EmulatedDap, gdb: FakeGdb, catch: bool) -> None:
    _flash_vectors(gdb, 0x2000_D158, 0x0800_01AD)
    mem_write32(dap, D.DEMCR, D.DEMCR_VC_CORERESET if catch else 0)
    mem_write32(dap, D.DHCSR, D.DBGKEY | D.C_DEBUGEN)  # running
    mem_write32(dap, D.AIRCR, D.AIRCR_VECTKEY | D.AIRCR_SYSRESETREQ)
    assert ("monitor", "system_reset") in gdb.calls
    first, second = mem_read32(dap, D.DHCSR), mem_read32(dap, D.DHCSR)
    assert first & D.S_RESET_ST and not second & D.S_RESET_ST  # sticky, cleared by the read
    assert bool(first & D.S_HALT) is catch and gdb.running is not catch
    if catch:
        assert gdb.regs["pc"] == 0x0800_01AC and gdb.regs["sp"] == 0x2000_D158
        assert mem_read32(dap, D.DFSR) & D.DFSR_VCATCH
    mem_write32(dap, D.AIRCR, 0xFA05_0000 | 0x300)  # no reset bits: passed on to QEMU
    assert ("M", D.AIRCR, 4) in gdb.calls


def test_flash_writes_are_kept(tmp_path: Path, gdb: FakeGdb) -> None:
    store = FlashStore(tmp_path / "b.flash", FLASH, FLASH_SIZE)
    d = EmulatedDap(gdb, on_write=store.note_write)  # type: ignore[arg-type]
    d.attach()
    mem_write32(d, FLASH + 8, 0xDDCCBBAA)
    mem_write32(d, RAM, 1)  # not flash: not kept
    store.save()
    assert (tmp_path / "b.flash").read_bytes() == bytes(8) + b"\xaa\xbb\xcc\xdd"
    again = FlashStore(tmp_path / "b.flash", FLASH, FLASH_SIZE)
    assert again.used == 12 and again.data[8:12] == b"\xaa\xbb\xcc\xdd"


def test_board_names() -> None:
    assert parse_board_name("netduinoplus2")[0].machine == "netduinoplus2"  # type: ignore[index]
    assert parse_board_name("netduinoplus2/b")[1] == "b"  # type: ignore[index]
    assert parse_board_name("nosuchboard") is None and parse_board_name("netduinoplus2/") is None


# ---------------------------------------------------------------------------------------------
# The GDB remote client against a stub on a socket
# ---------------------------------------------------------------------------------------------

def test_packet_framing() -> None:
    assert checksum(b"OK") == b"9a"
    assert escape(b"a#b$c}d*") == b"a}\x03b}\x04c}]d}\x0a"
    assert unescape(escape(bytes(range(256)))) == bytes(range(256))
    assert unescape(b"0* ") == b"0" * 4  # run-length: ' ' is 32 - 29 = 3 more


class StubServer:
    """A scripted gdbstub: answers each packet with the reply `handler` returns (acks included)."""

    def __init__(self, handler: Any):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.handler = handler
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        buf = b""
        with conn:
            while True:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                buf += chunk
                while True:
                    if buf[:1] in (b"+", b"-"):
                        buf = buf[1:]
                        continue
                    if buf[:1] == b"\x03":
                        buf = buf[1:]
                        self.received.append(b"\x03")
                        conn.sendall(b"$T02thread:01;#" + checksum(b"T02thread:01;"))
                        continue
                    end = buf.find(b"#")
                    if not buf.startswith(b"$") or end < 0 or len(buf) < end + 3:
                        break
                    payload = buf[1:end]
                    buf = buf[end + 3:]
                    self.received.append(payload)
                    conn.sendall(b"+")
                    for reply in self.handler(payload):
                        conn.sendall(b"$" + escape(reply) + b"#" + checksum(escape(reply)))


def test_client_against_a_stub() -> None:
    mem = bytearray(range(64))

    def handler(p: bytes) -> list[bytes]:
        if p.startswith(b"qSupported"):
            return [b"PacketSize=1000;qXfer:features:read+"]
        if p == b"?":
            return [b"T05thread:01;"]
        if p.startswith(b"m"):
            a, n = (int(x, 16) for x in p[1:].split(b","))
            return [b"E14"] if a >= 0x1000 else [mem[a:a + n].hex().encode()]
        if p.startswith(b"M"):
            head, data = p[1:].split(b":")
            a, _ = (int(x, 16) for x in head.split(b","))
            raw = bytes.fromhex(data.decode())
            mem[a:a + len(raw)] = raw
            return [b"OK"]
        if p.startswith(b"p"):
            return [b"ac010008"]
        if p.startswith(b"qRcmd,"):
            return [b"O" + b"resetting\n".hex().encode(), b"OK"]
        if p == b"c":
            return []
        if p.startswith(b"qXfer:features:read:target.xml"):
            return [b'l<target><feature name="org.gnu.gdb.arm.m-profile"><reg name="r0" bitsize="32"/>'
                    b'<reg name="pc" bitsize="32" regnum="15"/><reg name="xpsr" bitsize="32" regnum="25"/>'
                    b"</feature></target>"]
        return [b""]

    srv = StubServer(handler)
    g = GdbRemote("127.0.0.1", srv.port, timeout=2.0)
    g.connect()
    try:
        assert g.packet_size == 0x1000 and g.last_stop is not None and g.last_stop.code == 5
        assert g.read_memory(4, 8) == bytes(range(4, 12))
        g.write_memory(0, b"#$}*")  # escaped on the wire, as hex here
        assert g.read_memory(0, 4) == b"#$}*"
        with pytest.raises(GdbRemoteError) as e:
            g.read_memory(0x2000, 4)
        assert e.value.code == 0x14
        assert g.read_register(15) == 0x080001AC
        assert g.monitor("system_reset") == "resetting\n"
        regs = g.registers()
        assert (regs["pc"].regnum, regs["xpsr"].regnum, regs["r0"].regnum) == (15, 25, 0)
        g.cont()
        with pytest.raises(GdbRemoteError, match="while the target runs"):
            g.read_memory(0, 4)
        stop = g.interrupt()
        assert stop.code == 2 and not g.running
    finally:
        g.close()


# ---------------------------------------------------------------------------------------------
# pyOCD itself on the emulated debug port (QEMU replaced by FakeGdb at the gdbstub)
# ---------------------------------------------------------------------------------------------

pyocd = pytest.importorskip("pyocd", reason="pyOCD not installed (pip install 'bench[hw]')")


@pytest.fixture
def fake_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, gdb: FakeGdb) -> FakeGdb:
    from bench.targets.qemuprobe import machine

    def start(self: Any) -> Any:
        self.serial_port, self.gdb_port = 4321, 1234
        return gdb

    monkeypatch.setattr(machine.QemuMachine, "start", start)
    monkeypatch.setattr(machine.QemuMachine, "stop", lambda self: self.flash.save())
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "cache"))
    return gdb


def elf_image(tmp_path: Path) -> Path:
    code = struct.pack("<II", 0x2000_D158, 0x0800_0009) + bytes(range(256)) * 20
    ehsize, ph = 52, 32
    hdr = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8) + struct.pack(
        "<HHIIIIIHHHHHH", 2, 40, 1, 0x0800_0009, ehsize, 0, 0x0500_0400, ehsize, ph, 1, 40, 0, 0)
    phdr = struct.pack("<IIIIIIII", 1, ehsize + ph, FLASH, FLASH, len(code), len(code), 5, 4)
    p = tmp_path / "img.elf"
    p.write_bytes(hdr + phdr + code)
    return p


def test_pyocd_session_discovery_programming_and_reset_on_the_emulated_port(fake_machine: FakeGdb,
                                                                           tmp_path: Path) -> None:
    from pyocd.core.helpers import ConnectHelper
    from pyocd.core.target import Target
    from pyocd.flash.file_programmer import FileProgrammer

    s = ConnectHelper.session_with_chosen_probe(unique_id="qemu:netduinoplus2", blocking=False, return_first=True,
                                                auto_open=False, options={"hide_programming_progress": True})
    assert s is not None and s.probe.unique_id == "qemu:netduinoplus2"
    assert s.board.target_type == "stm32f405_qemu"  # named by the probe, like an on-board probe
    s.open()
    try:
        t = s.target
        core = t.selected_core
        assert core.name == "Cortex-M4" and core.has_fpu
        assert t.get_state() == Target.State.HALTED
        image = elf_image(tmp_path)
        FileProgrammer(s).program(str(image), file_format="elf")
        data = image.read_bytes()[84:]
        assert bytes(t.read_memory_block8(FLASH, len(data))) == data
        flash = t.memory_map.get_region_for_address(FLASH).flash
        assert flash.counts["sectors_erased"] == 1 and flash.counts["pages_programmed"] == 6
        t.reset_and_halt()
        assert t.get_state() == Target.State.HALTED
        assert t.read_core_register("pc") == 0x0800_0008 and t.read_core_register("sp") == 0x2000_D158
        t.resume()
        assert t.get_state() == Target.State.RUNNING and fake_machine.running
        t.halt()
        assert t.get_state() == Target.State.HALTED
        assert s.probe.serial_url == "socket://127.0.0.1:4321"
        assert "system_reset" in str(fake_machine.calls)
    finally:
        s.close()
    assert (tmp_path / "cache" / "qemuprobe" / "netduinoplus2.flash").read_bytes()[:len(data)] == data


def test_emulated_probes_are_listed_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyocd.core.helpers import ConnectHelper

    monkeypatch.delenv("BENCH_QEMU_PROBES", raising=False)
    uids = [p.unique_id for p in ConnectHelper.get_all_connected_probes(blocking=False)]
    assert not [u for u in uids if u.startswith("qemu:")]
    assert [p.unique_id for p in ConnectHelper.get_all_connected_probes(
        blocking=False, unique_id="qemu:netduinoplus2/b")] == ["qemu:netduinoplus2/b"]
    assert ConnectHelper.get_all_connected_probes(blocking=False, unique_id="qemu:nosuchboard") == []
    monkeypatch.setenv("BENCH_QEMU_PROBES", "qemu:netduinoplus2, netduinoplus2/b, nosuchboard")
    uids = [p.unique_id for p in ConnectHelper.get_all_connected_probes(blocking=False)]
    assert [u for u in uids if u.startswith("qemu:")] == ["qemu:netduinoplus2", "qemu:netduinoplus2/b"]


def test_bench_boards_lists_the_emulated_probe_beside_its_target(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.targets.drivers.pyocd.boards import boards

    monkeypatch.delenv("BENCH_QEMU_PROBES", raising=False)
    plain = boards()
    assert not [p for p in plain.probes if p.emulated]
    assert ("qemu-netduinoplus2-pyocd", "probe qemu:netduinoplus2 not connected (emulated: `bench boards "
            "--emulated`)") in plain.unmatched
    rep = boards(emulated=True)
    row = next(p for p in rep.probes if p.unique_id == "qemu:netduinoplus2")
    assert row.emulated and row.board_target_type == "stm32f405_qemu"
    assert [(m.target, m.how) for m in row.targets] == [("qemu-netduinoplus2-pyocd", "probe_uid")]
    assert "BENCH_QEMU_PROBES" not in __import__("os").environ  # restored after listing
    doc = rep.as_dict()
    assert doc["probes"][0]["targets"][0]["target"] == "qemu-netduinoplus2-pyocd"
