"""ROMFS images with aligned files (emlml_tools.board.romfs, `emlml romfs`).

A model in /rom is used in place only if its first byte is 4-byte aligned. The images are
mounted with MicroPython's own VfsRom (extmod/vfs_rom.c) in the unix runtime: the files list
and read back, and `emlml.load('/rom/...')`, `emlml.load(open(...))` and
`emlml.load(memoryview(open(...)))` use the file where it lies in the image. The same blob
in an image from mpremote's own builder (`mpremote romfs build/deploy DIR`) lands 2 bytes
off for a name like m.bin, and emlml refuses it: that is why the builder exists.
"""

from __future__ import annotations

import os
import subprocess

import pytest
from emlml_tools.board import romfs
from emlml_tools.board.transport import micropython_command
from runtimes import DEVICE_DATA, NATMOD_X64, require_built

TREES = os.path.join(DEVICE_DATA, "breast_cancer_extratrees.bin")
KNN = os.path.join(DEVICE_DATA, "breast_cancer_knn.bin")


@pytest.fixture
def blobs(device_data: str) -> tuple[bytes, bytes]:
    return open(TREES, "rb").read(), open(KNN, "rb").read()


def run_on_rom(tmp_path, image: bytes, script: str) -> subprocess.CompletedProcess[str]:
    """Mount ``image`` at /rom (VfsRom over a heap buffer, 16-byte aligned on x86-64) and run
    ``script`` in the unix runtime with the x64 native module."""
    require_built(os.path.join(NATMOD_X64, "emlml.mpy"))
    (tmp_path / "image.romfs").write_bytes(image)
    prelude = ("import os, vfs, uctypes, emlml\n"
               "img = bytearray(open('image.romfs', 'rb').read())\n"
               "vfs.mount(vfs.VfsRom(img), '/rom')\n"
               "base = uctypes.addressof(img)\n")
    env = dict(os.environ, MICROPYPATH=NATMOD_X64)
    return subprocess.run([micropython_command(), "-c", prelude + script], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)


def test_varints():
    assert romfs.encode_uint(0) == b"\x00"
    assert romfs.encode_uint(300) == b"\x82\x2c"
    assert romfs.encode_uint(300, 4) == b"\x80\x80\x82\x2c"
    assert romfs.decode_uint(b"\x80\x80\x82\x2c", 0) == (300, 4)
    assert romfs.HEADER == romfs.encode_uint(0x14A6B1)  # the filesystem record's kind
    with pytest.raises(ValueError):
        romfs.encode_uint(1 << 28, 4)


@pytest.mark.parametrize("align", [4, 8, 64, 4096])
def test_every_file_aligned(align):
    tree = {name: bytes(range(n % 256)) * 3 for n, name in
            enumerate(["m.bin", "mm.bin", "mmm.bin", "abcd.bin", "x"])}
    tree["models"] = {"a.bin": b"\x01" * 7, "deeper": {"b.bin": b"\x02" * 9}}
    image = romfs.build_image(tree, align)
    assert len(image) % 2 == 0
    files = romfs.read_image(image)
    assert set(files) == {"/m.bin", "/mm.bin", "/mmm.bin", "/abcd.bin", "/x", "/models/a.bin",
                          "/models/deeper/b.bin"}
    for name, (offset, size) in files.items():
        assert offset % align == 0, name
        item = tree
        for part in name.strip("/").split("/"):
            item = item[part]
        assert image[offset:offset + size] == item


def test_bad_names_and_alignment():
    with pytest.raises(ValueError, match="ASCII"):
        romfs.build_image({"modèle.bin": b""})
    with pytest.raises(ValueError, match="power of two"):
        romfs.build_image({"m.bin": b""}, align=6)
    with pytest.raises(ValueError, match="not a ROMFS image"):
        romfs.read_image(b"MPY")


@pytest.mark.parametrize("extra", [0, 1])
def test_micropython_reads_the_image(tmp_path, extra):
    """MicroPython's VfsRom lists and reads the image, odd-length bodies (padding record
    added) included."""
    tree = {"a.txt": b"alpha", "dir": {"b.txt": b"beta" + b"!" * extra}}
    image = romfs.build_image(tree)
    script = ("print(sorted(os.listdir('/rom')), os.listdir('/rom/dir'))\n"
              "print(open('/rom/a.txt').read(), open('/rom/dir/b.txt').read())\n"
              "print(os.stat('/rom/dir/b.txt')[6])\n")
    result = run_on_rom(tmp_path, image, script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == ["['a.txt', 'dir'] ['b.txt']",
                                          "alpha beta" + "!" * extra, str(4 + extra)]


def test_models_load_in_place_from_rom(tmp_path, blobs):
    trees, knn = blobs
    image = romfs.build_image({"m.bin": trees, "mm.bin": trees, "models": {"knn.bin": knn}})
    offsets = {name: off for name, (off, _) in romfs.read_image(image).items()}
    script = (
        "for name in ('/rom/m.bin', '/rom/mm.bin', '/rom/models/knn.bin'):\n"
        "    f = open(name, 'rb')\n"
        "    at = uctypes.addressof(memoryview(f)) - base\n"
        "    a = emlml.load(name)\n"
        "    b = emlml.load(f)\n"
        "    c = emlml.load(memoryview(f))\n"
        "    print(name, at, a.kind, a.blob_size, b.blob_size, c.blob_size)\n")
    result = run_on_rom(tmp_path, image, script)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines == [
        ["/rom/m.bin", str(offsets["/m.bin"]), "trees"] + [str(len(trees))] * 3,
        ["/rom/mm.bin", str(offsets["/mm.bin"]), "trees"] + [str(len(trees))] * 3,
        ["/rom/models/knn.bin", str(offsets["/models/knn.bin"]), "knn"] + [str(len(knn))] * 3,
    ]  # each file is used where it lies in the image: no copy


def test_mpremote_image_misaligns_a_model(tmp_path, blobs):
    """The reason for the builder: mpremote's image puts m.bin's data 2 bytes past a
    multiple of 4, and emlml refuses the blob there (asking for a copy into RAM)."""
    mpremote_romfs = pytest.importorskip("mpremote.romfs")
    trees, _ = blobs
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.bin").write_bytes(trees)
    image = mpremote_romfs.make_romfs(str(src), mpy_cross=False)
    assert image.find(trees) % 4 == 2
    script = ("try:\n    emlml.load('/rom/m.bin')\nexcept ValueError as e:\n    print(e)\n"
              "m = emlml.load(bytearray(open('/rom/m.bin', 'rb').read()))\n"
              "print('copy', m.kind)\n")
    result = run_on_rom(tmp_path, image, script)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "blob buffer is not 4-byte aligned (copy it into a bytearray)", "copy trees"]


def test_cli(tmp_path, capsys, blobs):
    trees, _ = blobs
    src = tmp_path / "models"
    (src / "sub").mkdir(parents=True)
    (src / "m.bin").write_bytes(trees)
    (src / "sub" / "k.bin").write_bytes(b"\x00" * 10)
    out = tmp_path / "models.romfs"
    assert romfs.main([str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    files = romfs.read_image(out.read_bytes())
    assert set(files) == {"/m.bin", "/sub/k.bin"}
    assert f"/rom/m.bin: {len(trees)} bytes at offset {files['/m.bin'][0]}" in printed
    assert f"mpremote romfs deploy {out}" in printed
    assert romfs.main([str(src), "-o", str(tmp_path / "models.bin")]) == 1
    assert "*.romfs" in capsys.readouterr().err
    assert romfs.main([str(tmp_path / "nope"), "-o", str(out)]) == 1
    assert "no such directory" in capsys.readouterr().err


def test_romfs_as_an_emlml_command(monkeypatch, tmp_path, capsys):
    """It is an `emlml` command (the CLI registry) and runs through cli.main."""
    from emlml_tools import cli
    assert cli._COMMANDS["romfs"].handler == "emlml_tools.board.romfs:run"
    (tmp_path / "rom").mkdir()
    (tmp_path / "rom" / "m.bin").write_bytes(b"\x00" * 8)
    assert cli.main(["romfs", str(tmp_path / "rom"), "-o", str(tmp_path / "rom.romfs")]) == 0
    assert romfs.read_image((tmp_path / "rom.romfs").read_bytes())["/m.bin"][1] == 8
