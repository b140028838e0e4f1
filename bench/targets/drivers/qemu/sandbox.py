"""The confinement of qemu-system-arm: bubblewrap (`bwrap`, Debian package `bubblewrap`).

QEMU runs every image with ARM semihosting on (`-semihosting-config enable=on,target=native`):
the semihosting link, the kernel benchmarks' exit and the boot-time probe for the link FIFOs need
it. Unconfined, that gives the guest the host's file system (SYS_OPEN/SYS_WRITE/SYS_REMOVE/
SYS_RENAME on any path the user may touch) and a shell (SYS_SYSTEM calls system(3)). So the bench
starts QEMU inside a bwrap sandbox that holds only what the image needs:

* a fresh, empty root (tmpfs) with, read-only: the QEMU binary, the shared libraries
  (/usr/lib, /lib*, /etc/ld.so.cache), QEMU's data (/usr/share/qemu), the image, a minimal /dev
  and a /proc of the sandbox's own pid namespace; no /bin, /usr/bin, /etc, /home or /tmp of the
  host, so no shell and no other program: SYS_SYSTEM fails;
* writable: only the run's link folder (`<image dir>/link/`: the semihosting FIFOs
  bench.link.in/out, and the guest's working directory, where relative semihosting paths land),
  plus the output file of a TCG plugin named by `-plugin ...,out=PATH`;
* every namespace unshared (user, pid, ipc, uts, cgroup, mount, network), all capabilities
  dropped, an empty environment, and `--die-with-parent` (the sandbox dies with the bench).

The network: QEMU gets no NIC (`-nic none`). With the semihosting link the sandbox also has its
own empty network namespace. The UART link keeps the host's network namespace, because the bench
connects to QEMU's TCP serial port, which QEMU binds to 127.0.0.1 only; with no NIC, no shell and
no program to run, the guest has no way to the network through it.

Without bwrap the driver refuses to start QEMU and names the package (docs/decisions.md says
why there is no weaker fallback); `sandbox = "none"` in the target's [qemu] table runs QEMU
unconfined, for images one trusts, and says so in the driver log.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from bench.errors import TargetError

BWRAP = "bwrap"
PACKAGE = "bubblewrap"
SANDBOXES = ("bwrap", "none")

# read-only system paths QEMU needs (libraries and its data files); symlinks (merged /usr) are
# reproduced as symlinks
_SYSTEM_RO = ("/usr/lib", "/usr/lib64", "/usr/lib32", "/usr/libx32", "/lib", "/lib64", "/lib32", "/libx32",
              "/usr/share/qemu", "/etc/ld.so.cache")


def bwrap_path() -> str | None:
    return shutil.which(BWRAP)


def require_bwrap(target: str) -> str:
    """The bwrap executable, or a TargetError that names the package and the way out."""
    p = bwrap_path()
    if p is None:
        raise TargetError(
            f"target {target}: QEMU runs images in a sandbox (semihosting gives a guest the host's files), but "
            f"`{BWRAP}` is not installed: apt-get install {PACKAGE} (scripts/bootstrap does). For images you "
            "trust, set sandbox = \"none\" in the target's [qemu] table to run QEMU unconfined")
    return p


def _split_qemu_opts(value: str) -> list[str]:
    """QEMU option syntax: pieces separated by ',', a literal comma doubled."""
    out, cur, i = [], "", 0
    while i < len(value):
        if value[i] == ",":
            if value[i + 1: i + 2] == ",":
                cur += ","
                i += 2
                continue
            out.append(cur)
            cur = ""
        else:
            cur += value[i]
        i += 1
    out.append(cur)
    return out


def plugin_paths(cmd: Sequence[str]) -> tuple[list[Path], list[Path]]:
    """(read-only, writable) paths that `-plugin` arguments name: the plugin's .so (the first
    piece, or file=) and any out= file it writes."""
    ro: list[Path] = []
    rw: list[Path] = []
    for i, a in enumerate(cmd[:-1]):
        if a != "-plugin":
            continue
        pieces = _split_qemu_opts(cmd[i + 1])
        for k, piece in enumerate(pieces):
            key, eq, val = piece.partition("=")
            if k == 0 and not eq:
                ro.append(Path(piece))
            elif eq and key == "file":
                ro.append(Path(val))
            elif eq and key == "out":
                rw.append(Path(val))
    return ro, rw


def _abs(p: Path) -> str:
    return os.path.abspath(p)


def sandbox_command(cmd: Sequence[str], *, bwrap: str, root: Path, ro: Sequence[Path] = (),
                    rw_files: Sequence[Path] = (), share_net: bool = False) -> list[str]:
    """`cmd` (qemu-system-arm and its arguments) wrapped in bwrap: `root` writable and the working
    directory; `ro` read-only; `rw_files` writable files (created empty when missing); see the
    module doc for the rest."""
    binary = os.path.abspath(shutil.which(cmd[0]) or cmd[0])
    qemu = os.path.realpath(binary)
    args = [bwrap, "--unshare-all"]
    if share_net:
        args.append("--share-net")
    args += ["--die-with-parent", "--cap-drop", "ALL", "--clearenv"]
    for p in _SYSTEM_RO:
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.exists(p):
            args += ["--ro-bind", p, p]
    args += ["--dev", "/dev", "--proc", "/proc"]
    if not any(qemu.startswith(s + "/") for s in _SYSTEM_RO):
        args += ["--ro-bind", qemu, qemu]
    root_s = _abs(root)
    args += ["--bind", os.path.realpath(root_s), root_s]
    for f in rw_files:
        f = Path(_abs(f))
        f.parent.mkdir(parents=True, exist_ok=True)
        f.touch()
        args += ["--bind", os.path.realpath(f), str(f)]
    for p in dict.fromkeys(_abs(x) for x in ro):  # after the writable binds: a read-only path inside stays so
        if not os.path.exists(p):
            raise TargetError(f"the QEMU sandbox cannot give the guest {p}: it does not exist; fix the path (an "
                              "entry of sandbox_ro in the target's [qemu] table, or the image) or remove it")
        real = os.path.realpath(p)
        for dest in dict.fromkeys((real, p)):  # the path as given and as resolved (-kernel gets the resolved one)
            args += ["--ro-bind", real, dest]
    args += ["--chdir", root_s, "--", qemu, *cmd[1:]]
    return args


def explain_bwrap_failure(stderr: str) -> str:
    """A hint for bwrap's own start-up errors (no user namespaces, a seccomp profile...)."""
    lines = [ln for ln in stderr.splitlines() if ln.startswith("bwrap:")]
    if not lines:
        return ""
    return (f" The sandbox could not be set up ({lines[-1].strip()}): bubblewrap needs unprivileged user "
            "namespaces (sysctl kernel.unprivileged_userns_clone=1; in a container, a seccomp profile that "
            "allows clone/unshare). For images you trust, set sandbox = \"none\" in the target's [qemu] table.")
