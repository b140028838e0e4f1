"""nox sessions: tests, qemu, firmware, lint, demo, nightly, gate. Run `nox -l` to list them."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]


def _install(session: nox.Session, extras: str = "dev,hw") -> None:
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests (no emulator) and the QEMU tests."""
    _install(session)
    session.run("pytest", *session.posargs)


@nox.session
def unit(session: nox.Session) -> None:
    """Unit tests only: seconds, no emulator."""
    _install(session)
    session.run("pytest", "tests/unit", *session.posargs)


@nox.session
def qemu(session: nox.Session) -> None:
    """The real firmware images under qemu-system-arm."""
    _install(session)
    session.run("pytest", "-m", "qemu", "tests/qemu", *session.posargs)


@nox.session
def firmware(session: nox.Session) -> None:
    """Rebuild the images and check they match the committed ones bit for bit."""
    _install(session)
    session.run("bench", "images", "build", "--check")


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff", "mypy")
    session.run("ruff", "check", "bench", "tests")


@nox.session
def demo(session: nox.Session) -> None:
    """The default benchmark: every image for qemu-mps2-an386 over the shipped test set."""
    _install(session)
    session.run("bench", "run", *session.posargs)


@nox.session
def nightly(session: nox.Session) -> None:
    """Everything a nightly job runs: tests, image check, full benchmark."""
    _install(session)
    session.run("pytest")
    session.run("bench", "images", "build", "--check")
    session.run("bench", "run", "--json")


@nox.session
def benchmarks(session: nox.Session) -> None:
    """Benchmarks that print figures (link throughput, metric throughput)."""
    _install(session)
    session.run("pytest", "--benchmark-enable", "-s", "-m", "benchmark or qemu", "-k", "bench_",
                "tests", *session.posargs)


@nox.session
def gate(session: nox.Session) -> None:
    """Regression gate: a small QEMU subset against results/baselines/ (exit 3 on a regression)."""
    _install(session)
    session.run("bench", "gate", "--report", "results/gate-report", *session.posargs)
