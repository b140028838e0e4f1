"""The pyOCD target type of the emulated STM32F405 (QEMU `netduinoplus2`), for the emulated probe only.

pyOCD 0.46 has no built-in STM32F405; its STM32F4xx_DFP pack target would program the flash by
running ST's flash algorithm on the core, which drives the FLASH interface registers (KEYR, CR,
SR). QEMU 7.2 does not model that peripheral (it is an "unimplemented device": reads 0, writes
ignored), and the guest cannot write QEMU's flash at all. Debug writes can (the gdbstub writes ROM
regions), so this target's flash regions use `DebugWriteFlash`: pyOCD's FileProgrammer, FlashLoader
and FlashBuilder (ELF parsing, sector/page planning, smart-flash page comparison by read-back,
progress, erase/program ordering) run as on silicon, and only the last layer, the flash algorithm
on the core, is replaced by plain debug memory writes through the probe.

Memory map as the part (RM0090): flash 1 MiB at 0x08000000 in 4 x 16 KiB, 1 x 64 KiB and 7 x
128 KiB sectors; SRAM 128 KiB at 0x20000000 (QEMU maps more; the images' linker script keeps to
the part).
"""

from __future__ import annotations

import logging
from typing import Any

from pyocd.core.exceptions import FlashEraseFailure, FlashFailure
from pyocd.core.memory_map import FlashRegion, MemoryMap, MemoryType, RamRegion
from pyocd.coresight.coresight_target import CoreSightTarget
from pyocd.flash.flash import Flash

LOG = logging.getLogger(__name__)

TARGET_TYPE = "stm32f405_qemu"
PAGE_SIZE = 0x400


class DebugWriteFlash(Flash):
    """Flash programming by debug memory writes, for an emulator whose flash controller is not modelled.

    Behaves as NOR flash: an erase sets a sector to the erased value (0xFF), programming can only
    clear bits (the page is ANDed with what the flash holds), so a page pyOCD programmed without
    erasing fails its verify as it would on silicon. The core is halted for the operation, as a
    flash algorithm would have it.
    """

    def __init__(self, target: Any) -> None:
        super().__init__(target, flash_algo=None)
        self.is_valid = True
        self.use_analyzer = False
        self.double_buffer_supported = False
        self.page_buffers: list[int] = []
        self.min_program_length = 0
        self.counts = {"sectors_erased": 0, "pages_programmed": 0, "bytes_programmed": 0, "chip_erases": 0}

    @property
    def is_erase_all_supported(self) -> bool:
        return True

    def init(self, operation: Flash.Operation, address: int | None = None, clock: int = 0, reset: bool = False) -> None:
        if self.region is None:
            raise FlashFailure("flash init failed: flash region is not set", address=address)
        assert isinstance(operation, self.Operation)
        current = getattr(self.target.session.context_state, "current_flash_algo", None)
        if current is not None and current is not self:
            current.cleanup()
        if not self._did_prepare_target:  # type: ignore[has-type]
            if reset:
                self.target.reset_and_halt()
            else:
                self.target.halt()
            self._did_prepare_target = True
            self.target.session.context_state.current_flash_algo = self
        if self._active_operation is not None and self._active_operation != operation:  # type: ignore[has-type]
            self.uninit()
        self._active_operation = operation

    def uninit(self) -> None:
        self._active_operation = None

    def _erased(self, size: int) -> bytes:
        return bytes([self.region.erased_byte_value]) * size

    def erase_all(self) -> None:
        assert self._active_operation == self.Operation.ERASE
        for region in self.target.memory_map.iter_matching_regions(type=MemoryType.FLASH):
            if region.flash_class is DebugWriteFlash:
                self.target.write_memory_block8(region.start, self._erased(region.length))
        self.counts["chip_erases"] += 1

    def erase_sector(self, address: int) -> None:
        assert self._active_operation == self.Operation.ERASE
        sector = self.get_sector_info(address)
        if sector is None:
            raise FlashEraseFailure("address is not within any sector", address=address)
        self.target.write_memory_block8(sector.base_addr, self._erased(sector.size))
        self.counts["sectors_erased"] += 1

    def program_page(self, address: int, bytes: Any) -> None:  # noqa: A002 - pyOCD's parameter name
        assert self._active_operation == self.Operation.PROGRAM
        data = list(bytes)
        old = self.target.read_memory_block8(address, len(data))
        self.target.write_memory_block8(address, [a & b for a, b in zip(old, data, strict=True)])
        self.counts["pages_programmed"] += 1
        self.counts["bytes_programmed"] += len(data)

    def program_phrase(self, address: int, bytes: Any) -> None:  # noqa: A002
        self.program_page(address, bytes)


def _flash(start: int, length: int, sector: int, **kw: Any) -> FlashRegion:
    return FlashRegion(start=start, length=length, sector_size=sector, page_size=PAGE_SIZE,
                       flash_class=DebugWriteFlash, erase_all_weight=15.0, **kw)


class STM32F405Qemu(CoreSightTarget):
    """STM32F405RG as QEMU 7.2's netduinoplus2 machine emulates it (no flash controller)."""

    VENDOR = "STMicroelectronics"

    MEMORY_MAP = MemoryMap(
        _flash(0x0800_0000, 0x1_0000, 0x4000, is_boot_memory=True, name="flash_16k"),
        _flash(0x0801_0000, 0x1_0000, 0x1_0000, name="flash_64k"),
        _flash(0x0802_0000, 0xE_0000, 0x2_0000, name="flash_128k"),
        RamRegion(start=0x2000_0000, length=0x2_0000),
    )

    def __init__(self, session: Any) -> None:
        super().__init__(session, self.MEMORY_MAP)


def register() -> None:
    """Make the target type known to pyOCD (`target_override = "stm32f405_qemu"`)."""
    from pyocd.target import TARGET

    TARGET.setdefault(TARGET_TYPE, STM32F405Qemu)
