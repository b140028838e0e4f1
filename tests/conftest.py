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
