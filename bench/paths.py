"""Where the project's folders are: one place for every module that needs a path."""

from __future__ import annotations

from pathlib import Path


def repo_root() -> Path:
    """The project checkout (where targets/, firmware/, firmware_images/ and models/ live)."""
    return Path(__file__).resolve().parent.parent


def targets_dir() -> Path:
    return repo_root() / "targets"


def images_dir() -> Path:
    return repo_root() / "firmware_images"


def firmware_dir() -> Path:
    return repo_root() / "firmware"


def models_dir() -> Path:
    return repo_root() / "models"
