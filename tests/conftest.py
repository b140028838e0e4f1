import shutil

import pytest


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    """QEMU tests need qemu-system-arm; say so instead of failing obscurely."""
    if shutil.which("qemu-system-arm"):
        return
    skip = pytest.mark.skip(reason="qemu-system-arm not installed (run scripts/bootstrap)")
    for item in items:
        if "qemu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Tests use their own cache (reference outputs, the cycle-estimate plugin build), never the user's."""
    import os

    old = os.environ.get("BENCH_CACHE_DIR")
    os.environ["BENCH_CACHE_DIR"] = str(tmp_path_factory.mktemp("bench-cache"))
    yield
    if old is None:
        os.environ.pop("BENCH_CACHE_DIR", None)
    else:
        os.environ["BENCH_CACHE_DIR"] = old


@pytest.fixture()
def fake_bin(tmp_path, monkeypatch):
    """A folder put first on PATH, for fake programs (a compiler, bwrap, QEMU) standing in for the lowest layer."""
    import os

    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", f"{d}{os.pathsep}{os.environ['PATH']}")
    return d
