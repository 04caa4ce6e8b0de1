"""`emlml flash` without a board.

ESP32 family: end to end through esptool against esp32-mock-bootloader, a ROM bootloader
mock (SLIP protocol, in-memory flash) on a local TCP port, one mock process per chip
profile for the module, stopped in the fixture's finally. What landed is read back over
a second, independent connection (the ROM's READ_FLASH_SLOW command).

RP2040/RP2350: BOOTSEL drives are temporary folders with an INFO_UF2.TXT as the boot ROMs
write it; the UF2 files are made here block by block from the format's spec.

The command runs through `cli.main` with the registry entry the command will get.
"""

from __future__ import annotations

import hashlib
import os
import struct

import pytest
from emlml_tools import cli
from emlml_tools.board import flash


def test_flash_is_an_emlml_command():
    assert cli._COMMANDS["flash"].handler == "emlml_tools.board.flash:run"


def emlml(*argv: str) -> int:
    return cli.main(["flash", *map(str, argv)])


# ----------------------------------------------------------------------- ESP images

ESP32_ID, ESP32S3_ID = 0, 9  # the extended header's chip id (esptool IMAGE_CHIP_ID)


def esp_bootloader_image(chip_id: int, payload: bytes) -> bytes:
    """A minimal bootloader image: header, extended header, one RAM segment, checksum
    byte (file padded to 16), SHA-256 of all that appended."""
    seg = payload + b"\0" * (-len(payload) % 4)
    header = struct.pack("<BBBBI", 0xE9, 1, 0x02, 0x20, 0x40080400)  # DIO, 4MB/40MHz
    extended = struct.pack("<BBBBHBHH4sB", 0xEE, 0, 0, 0, chip_id, 0, 0, 0xFFFF, b"", 1)
    body = header + extended + struct.pack("<II", 0x3FFF0000, len(seg)) + seg
    checksum = 0xEF
    for b in seg:
        checksum ^= b
    body += b"\0" * (15 - len(body) % 16) + bytes([checksum])
    return body + hashlib.sha256(body).digest()


def micropython_like_firmware(chip_id: int, tag: bytes) -> bytes:
    """Laid out as MicroPython's makeimg.py does: bootloader at the start, the partition
    table 0x7000 further (0x8000 on flash for an ESP32), then the application."""
    boot = esp_bootloader_image(chip_id, b"bootloader " + tag + bytes(range(256)))
    out = boot + b"\xff" * (0x7000 - len(boot)) + b"PARTITIONS " + tag
    return out + b"\xff" * (0xF000 - len(out)) + b"APP " + tag * 50


def test_the_synthetic_image_is_valid_for_esptool():
    from esptool.bin_image import LoadFirmwareImage

    for key, chip_id in (("esp32", ESP32_ID), ("esp32s3", ESP32S3_ID)):
        img = LoadFirmwareImage(key, micropython_like_firmware(chip_id, b"x"))
        assert img.chip_id == chip_id
        assert img.checksum == img.calculate_checksum()
        assert img.append_digest and img.stored_digest == img.calc_digest
        assert flash.esp_image(micropython_like_firmware(chip_id, b"x")).chip == key


def test_esp_image_refusals():
    good = micropython_like_firmware(ESP32_ID, b"x")
    with pytest.raises(cli.CommandError, match="no ESP image header"):
        flash.esp_image(b"\xe9\x01")
    with pytest.raises(cli.CommandError, match="chip id 4 .*ESP32-S3\\(beta2\\)"):
        flash.esp_image(good[:12] + struct.pack("<H", 4) + good[14:])
    with pytest.raises(cli.CommandError, match="chip id 777"):
        flash.esp_image(good[:12] + struct.pack("<H", 777) + good[14:])
    with pytest.raises(cli.CommandError, match="ESP8266"):
        flash.esp_image(good[:23] + b"\x07" + good[24:])
    app = good[:32] + struct.pack("<I", 0xABCD5432) + good[36:]
    with pytest.raises(cli.CommandError, match="application image"):
        flash.esp_image(app)
    corrupt = bytearray(good)
    corrupt[40] ^= 0xFF
    with pytest.raises(cli.CommandError, match="checksum is wrong"):
        flash.esp_image(bytes(corrupt))
    with pytest.raises(cli.CommandError, match="not a valid ESP32 bootloader image"):
        flash.esp_image(good[:60])


@pytest.fixture(scope="module")
def mock_state_dir(tmp_path_factory):
    # the mock keeps a registry of running instances: keep it out of the shared /tmp
    old = os.environ.get("ESP32_MOCK_BOOTLOADER_STATE_DIR")
    os.environ["ESP32_MOCK_BOOTLOADER_STATE_DIR"] = str(tmp_path_factory.mktemp("mock-state"))
    yield
    if old is None:
        os.environ.pop("ESP32_MOCK_BOOTLOADER_STATE_DIR", None)
    else:
        os.environ["ESP32_MOCK_BOOTLOADER_STATE_DIR"] = old


def _mock(chip: str):
    from esp32_mock_bootloader import mock_bootloader

    # port=None: the mock binds port 0 and reports the port the OS gave it
    handle = mock_bootloader(chip=chip, port=None, startup_timeout=20)
    try:
        yield handle.url()
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def esp32_port(mock_state_dir):
    yield from _mock("esp32")


@pytest.fixture(scope="module")
def esp32s3_port(mock_state_dir):
    yield from _mock("esp32s3")


def read_back(port: str, offset: int, length: int) -> bytes:
    """Flash contents over a fresh connection (ROM READ_FLASH_SLOW, no stub)."""
    from esptool.cmds import attach_flash, detect_chip

    with detect_chip(port) as esp:
        attach_flash(esp)
        return esp.read_flash(offset, length)


def test_flash_esp32_writes_at_0x1000_and_verifies(esp32_port, tmp_path, capsys):
    fw = micropython_like_firmware(ESP32_ID, b"esp32 one")
    path = tmp_path / "firmware.bin"
    path.write_bytes(fw)
    assert emlml(path, "--port", esp32_port) == 0
    out = capsys.readouterr().out
    assert "Writing at 0x" in out and "100.0%" in out  # esptool's progress bar
    assert "Verification successful" in out
    assert "flashed" in out and "at 0x1000" in out and "ESP32" in out
    assert read_back(esp32_port, 0x1000, len(fw)) == fw
    assert read_back(esp32_port, 0x0, 64) == b"\xff" * 64  # nothing below the bootloader


def test_flash_esp32s3_writes_at_0x0(esp32s3_port, tmp_path, capsys):
    fw = micropython_like_firmware(ESP32S3_ID, b"s3 image")
    path = tmp_path / "firmware-s3.bin"
    path.write_bytes(fw)
    assert emlml(path, "--port", esp32s3_port) == 0
    assert "at 0x0 " in capsys.readouterr().out
    assert read_back(esp32s3_port, 0x0, len(fw)) == fw


@pytest.mark.parametrize("image_id,image_name,board,board_name", [
    (ESP32S3_ID, "ESP32-S3", "esp32", "ESP32"),
    (ESP32_ID, "ESP32", "esp32s3", "ESP32-S3"),
])
def test_flash_refuses_a_firmware_for_another_chip(image_id, image_name, board, board_name,
                                                   request, tmp_path, capsys):
    port = request.getfixturevalue(f"{board}_port")
    offset = 0x1000 if board == "esp32" else 0x0
    before = read_back(port, offset, 256)
    fw = micropython_like_firmware(image_id, b"wrong chip")
    path = tmp_path / "firmware.bin"
    path.write_bytes(fw)
    assert emlml(path, "--port", port) == 1
    err = capsys.readouterr().err
    assert err.startswith("emlml: refusing to flash")
    assert f"built for {image_name} (image chip id {image_id})" in err
    assert f"the board on {port} is an {board_name} " in err
    assert read_back(port, offset, 256) == before  # nothing written


def test_flash_esp_port_errors(tmp_path, capsys, monkeypatch, unused_tcp_port):
    path = tmp_path / "firmware.bin"
    path.write_bytes(micropython_like_firmware(ESP32_ID, b"x"))
    assert emlml(path, "--port", "/dev/ttyEMLML-none") == 1
    err = capsys.readouterr().err
    assert "emlml: /dev/ttyEMLML-none: no ESP ROM bootloader answered" in err
    assert "doesn't exist" in err
    url = f"socket://127.0.0.1:{unused_tcp_port}"
    assert emlml(path, "--port", url) == 1
    assert f"emlml: {url}: no ESP ROM bootloader answered" in capsys.readouterr().err
    monkeypatch.setattr(flash, "serial_ports", lambda: [])
    assert emlml(path) == 1
    assert "no USB serial port found" in capsys.readouterr().err
    monkeypatch.setattr(flash, "serial_ports", lambda: ["/dev/ttyACM0", "/dev/ttyUSB0"])
    assert emlml(path) == 1
    assert "several serial ports (/dev/ttyACM0, /dev/ttyUSB0)" in capsys.readouterr().err
    assert emlml(path, "--drive", str(tmp_path)) == 1
    assert "use --port PORT" in capsys.readouterr().err


@pytest.fixture
def unused_tcp_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_flash_rejects_missing_empty_and_unknown_files(tmp_path, capsys):
    assert emlml(tmp_path / "nope.bin") == 1
    assert "no such file" in capsys.readouterr().err
    (tmp_path / "empty.bin").write_bytes(b"")
    assert emlml(tmp_path / "empty.bin") == 1
    assert "is empty" in capsys.readouterr().err
    (tmp_path / "x.bin").write_bytes(b"\x7fELF" + bytes(60))
    assert emlml(tmp_path / "x.bin") == 1
    assert "neither an ESP32 firmware image" in capsys.readouterr().err


# ------------------------------------------------------------------------------- UF2

RP2040, ABSOLUTE, RP2350_S, RP2350_RV, RP2350_NS = (
    0xE48BFF56, 0xE48BFF57, 0xE48BFF59, 0xE48BFF5A, 0xE48BFF5B)
INFO = {
    "RP2040": "UF2 Bootloader v3.0\r\nModel: Raspberry Pi RP2\r\nBoard-ID: RPI-RP2\r\n",
    "RP2350": "UF2 Bootloader v1.0\nModel: Raspberry Pi RP2350\nBoard-ID: RP2350\n",
}


def uf2_block(addr: int, payload: bytes, no: int, total: int, family: int | None) -> bytes:
    flags = 0 if family is None else 0x2000
    head = struct.pack("<8I", 0x0A324655, 0x9E5D5157, flags, addr, len(payload), no, total,
                       0 if family is None else family)
    block = head + payload.ljust(476, b"\0") + struct.pack("<I", 0x0AB16F30)
    assert len(block) == 512
    return block


def make_uf2(families: list[int | None], base: int = 0x10000000) -> bytes:
    """One 256-byte payload block per entry of families."""
    n = len(families)
    return b"".join(uf2_block(base + 256 * i, bytes([i & 0xFF]) * 256, i, n, fam)
                    for i, fam in enumerate(families))


def make_drive(root, chip: str, label: str | None = None) -> str:
    drive = root / (label or ("RPI-RP2" if chip == "RP2040" else "RP2350"))
    drive.mkdir(parents=True)
    (drive / "INFO_UF2.TXT").write_text(INFO[chip], newline="")
    (drive / "INDEX.HTM").write_text("<html></html>")
    return str(drive)


@pytest.fixture
def mounts(tmp_path, monkeypatch):
    """A /media/<user>/ of our own: the search looks only here."""
    root = tmp_path / "media" / "user"
    root.mkdir(parents=True)
    monkeypatch.setattr(flash, "MOUNT_GLOBS", (str(root / "*"),))
    return root


def test_uf2_parsing():
    data = make_uf2([ABSOLUTE] + [RP2350_S] * 3)
    assert flash.uf2_families(data) == {ABSOLUTE: 1, RP2350_S: 3}
    assert flash.uf2_chip(flash.uf2_families(data)) == "RP2350"
    assert flash.uf2_chip({RP2040: 4}) == "RP2040"
    with pytest.raises(cli.CommandError, match="whole number of 512-byte"):
        flash.uf2_families(data[:-1])
    bad = bytearray(data)
    bad[512 + 508] ^= 1
    with pytest.raises(cli.CommandError, match="block 1 .*bad magic"):
        flash.uf2_families(bytes(bad))
    with pytest.raises(cli.CommandError, match="only chip-agnostic"):
        flash.uf2_chip({ABSOLUTE: 2})
    with pytest.raises(cli.CommandError, match="no family ID"):
        flash.uf2_chip(flash.uf2_families(make_uf2([None, None])))
    with pytest.raises(cli.CommandError, match="mixes RP2040 and RP2350"):
        flash.uf2_chip({RP2040: 1, RP2350_NS: 1})


@pytest.mark.parametrize("chip,families", [
    ("RP2040", [RP2040] * 5),
    ("RP2350", [ABSOLUTE] + [RP2350_S] * 4),  # picotool's RP2350 output
    ("RP2350", [RP2350_RV] * 3),
    ("RP2350", [RP2350_NS] * 3),
])
def test_uf2_copied_to_the_found_drive(chip, families, mounts, tmp_path, capsys):
    drive = make_drive(mounts, chip)
    data = make_uf2(families)
    path = tmp_path / "firmware.uf2"
    path.write_bytes(data)
    assert emlml(path) == 0
    with open(os.path.join(drive, "firmware.uf2"), "rb") as f:
        assert f.read() == data
    out = capsys.readouterr().out
    assert f"to the {chip} drive {drive}" in out and "reboots" in out


def test_uf2_explicit_drive(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(flash, "MOUNT_GLOBS", ())  # nothing found by searching
    drive = make_drive(tmp_path / "elsewhere", "RP2040", label="PICO")
    data = make_uf2([RP2040] * 3)
    path = tmp_path / "RPI_PICO-emlml.uf2"
    path.write_bytes(data)
    assert emlml(path, "--drive", drive) == 0
    with open(os.path.join(drive, "RPI_PICO-emlml.uf2"), "rb") as f:
        assert f.read() == data


@pytest.mark.parametrize("families,image_chip,board,family_text", [
    ([RP2040] * 3, "RP2040", "RP2350", "RP2040 (0xe48bff56)"),
    ([ABSOLUTE] + [RP2350_S] * 3, "RP2350", "RP2040", "RP2350 Arm secure (0xe48bff59)"),
    ([RP2350_RV] * 2, "RP2350", "RP2040", "RP2350 RISC-V (0xe48bff5a)"),
    ([RP2350_NS] * 2, "RP2350", "RP2040", "RP2350 Arm non-secure (0xe48bff5b)"),
])
def test_uf2_for_the_other_chip_is_refused(families, image_chip, board, family_text, mounts,
                                           tmp_path, capsys):
    drive = make_drive(mounts, board)
    path = tmp_path / "firmware.uf2"
    path.write_bytes(make_uf2(families))
    assert emlml(path) == 1
    err = capsys.readouterr().err
    assert (f"emlml: refusing to copy {path}: it is an {image_chip} image (UF2 family "
            f"{family_text}) but the BOOTSEL drive {drive} is an {board}") in err
    assert sorted(os.listdir(drive)) == ["INDEX.HTM", "INFO_UF2.TXT"]


def test_uf2_for_another_family_is_refused(mounts, tmp_path, capsys):
    drive = make_drive(mounts, "RP2040")
    path = tmp_path / "micropython.uf2"
    path.write_bytes(make_uf2([0xC47E5767] * 2, base=0))  # MicroPython's ESP32-S3 .uf2
    assert emlml(path) == 1
    assert "blocks for ESP32-S3 (0xc47e5767): not an RP2040/RP2350 image" in \
        capsys.readouterr().err
    assert "micropython.uf2" not in os.listdir(drive)


def test_uf2_drive_errors(mounts, tmp_path, capsys):
    path = tmp_path / "firmware.uf2"
    path.write_bytes(make_uf2([RP2040] * 2))
    assert emlml(path) == 1
    err = capsys.readouterr().err
    assert "emlml: no BOOTSEL drive found" in err and "--drive PATH" in err
    assert emlml(path, "--drive", tmp_path / "missing") == 1
    assert "no such folder" in capsys.readouterr().err
    assert emlml(path, "--drive", tmp_path) == 1
    assert "has no INFO_UF2.TXT: not a BOOTSEL drive" in capsys.readouterr().err
    assert emlml(path, "--port", "/dev/ttyACM0") == 1
    assert "not a serial port" in capsys.readouterr().err
    first = make_drive(mounts, "RP2040")
    second = make_drive(mounts, "RP2350")
    assert emlml(path) == 1
    assert f"several UF2 drives mounted ({second}, {first})" in capsys.readouterr().err
    other = mounts.parent / "other" / "NRF52BOOT"
    other.mkdir(parents=True)
    (other / "INFO_UF2.TXT").write_text("UF2 Bootloader 0.6.0\nModel: nRF52840\n"
                                        "Board-ID: nRF52840-Feather-revD\n")
    assert emlml(path, "--drive", other) == 1
    assert "Board-ID 'nRF52840-Feather-revD'" in capsys.readouterr().err


def test_uf2_drive_that_goes_away_while_syncing(mounts, tmp_path, monkeypatch, capsys):
    drive = make_drive(mounts, "RP2350")
    data = make_uf2([RP2350_S] * 2)
    path = tmp_path / "firmware.uf2"
    path.write_bytes(data)

    def gone(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(flash.os, "fsync", gone)
    assert emlml(path) == 0
    assert "went away while syncing" in capsys.readouterr().out
    with open(os.path.join(drive, "firmware.uf2"), "rb") as f:
        assert f.read() == data
