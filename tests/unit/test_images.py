"""Manifest verification and HELLO checks: refuse a mismatch before anything is flashed."""

import dataclasses
import json
import shutil

import pytest

from bench.errors import HandshakeError, ImageError
from bench.images import find_image, load_manifest, verify_image
from bench.link import messages as m
from bench.runner.stream import check_hello
from bench.targets import load_target


@pytest.fixture()
def an386():
    return load_target("qemu-mps2-an386")


@pytest.fixture()
def img_dir(tmp_path):
    """A copy of the committed images and manifest to damage."""
    src = load_manifest()[0].path.parent
    for p in src.iterdir():
        shutil.copy(p, tmp_path / p.name)
    return tmp_path


def test_committed_images_verify():
    """Every committed image verifies against a target of its own board."""
    from bench.targets import list_targets

    by_board = {t.board: t for t in list_targets()}
    for e in load_manifest():
        verify_image(e, by_board[e.board])


def test_corrupt_image_refused(img_dir, an386):
    e = find_image("passthrough-an386", img_dir)
    data = bytearray(e.path.read_bytes())
    data[100] ^= 0xFF
    e.path.write_bytes(bytes(data))
    with pytest.raises(ImageError, match="does not match its manifest.*bench images build"):
        verify_image(e, an386)


def test_non_elf_refused(img_dir, an386):
    e = find_image("passthrough-an386", img_dir)
    e.path.write_bytes(b"MZ not an elf")
    with pytest.raises(ImageError, match="not an ELF"):
        verify_image(e, an386)


def test_missing_image_file(img_dir, an386):
    e = find_image("passthrough-an386", img_dir)
    e.path.unlink()
    with pytest.raises(ImageError, match="missing"):
        verify_image(e, an386)


def test_wrong_target_refused(an386):
    e = dataclasses.replace(find_image("passthrough-an386"), board="nrf52840-dk")
    with pytest.raises(ImageError, match="built for board 'nrf52840-dk'.*'mps2-an386'"):
        verify_image(e, an386)


def test_wrong_protocol_refused(img_dir, an386):
    doc = json.loads((img_dir / "manifest.json").read_text())
    for i in doc["images"]:
        i["protocol_version"] = 99
    (img_dir / "manifest.json").write_text(json.dumps(doc))
    with pytest.raises(ImageError, match="protocol 99"):
        verify_image(find_image("passthrough-an386", img_dir), an386)


def test_unknown_image_name():
    with pytest.raises(ImageError, match="no image named 'nope'.*known"):
        find_image("nope")


def test_broken_manifest(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(ImageError, match="not valid JSON"):
        load_manifest(tmp_path)


def _hello_for(e, **over):
    h = m.Hello(protocol_version=1, counter_kind=0, counter_hz=25_000_000, sample_rate=16000, frame_len=256,
                hop_len=256, capabilities=3, max_packet=2048, reply_cache=8, image_name=e.name,
                model_family=e.model_family, build_id=e.build_id, target_board=e.board, stage_names=("copy",))
    return dataclasses.replace(h, **over)


def test_hello_matches_manifest():
    e = find_image("passthrough-an386")
    check_hello(_hello_for(e), e)


@pytest.mark.parametrize("field,value", [("image_name", "other"), ("build_id", "deadbeef"),
                                         ("target_board", "nrf52840-dk"), ("model_family", "nsnet2"),
                                         ("protocol_version", 2)])
def test_hello_mismatch_names_the_field(field, value):
    e = find_image("passthrough-an386")
    with pytest.raises(HandshakeError, match=f"{field}: image says {value!r}"):
        check_hello(_hello_for(e, **{field: value}), e)
