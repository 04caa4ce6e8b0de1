"""`emlml flash FIRMWARE`: put MicroPython firmware that has emlml built in on a board.

Two kinds of board, told apart by the file's contents (not its name):

ESP32 family (a ``.bin`` that starts with an ESP image header, magic 0xE9). MicroPython's
``firmware.bin`` is the bootloader image, the partition table and the application laid
out from the bootloader's flash offset, so the file starts with the bootloader's image
header: 8 bytes (magic, segment count, flash mode, flash size/frequency, entry point)
and a 16-byte extended header whose bytes 4-5 (file offset 12, little endian) are the
chip id the image was built for (esptool's ``IMAGE_CHIP_ID``: ESP32 0, ESP32-S3 9, ...).
The chip on the port is detected with esptool (a ROM bootloader conversation), a
firmware for another chip is refused, and the file is written at that chip's bootloader
offset (esptool's ``BOOTLOADER_FLASH_OFFSET``: 0x1000 on ESP32 and ESP32-S2, 0x0 on S3
and the C/H series, 0x2000 on P4 and C5), checked by MD5, and the chip is reset.

RP2040 / RP2350 (a ``.uf2``). In BOOTSEL mode the board is a USB drive with an
``INFO_UF2.TXT`` whose ``Board-ID`` names the chip (``RPI-RP2`` for RP2040, ``RP2350``).
A UF2 file is 512-byte blocks: magic words at offsets 0 and 4 and 508, flags at 8 and,
when flag 0x2000 is set, a family ID at 28 (pico-sdk ``boot/uf2.h``). Blocks for the
other chip are refused; blocks of the chip-agnostic ``absolute`` and ``data`` families
(picotool adds an ``absolute`` block to RP2350 images) are allowed. The file is copied
and flushed to the drive; the board flashes it and reboots by itself.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import os
import struct
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from emlml_tools.errors import CommandError, require

# ------------------------------------------------------------------------- ESP image

ESP_IMAGE_MAGIC = 0xE9
ESP_HEADER_SIZE = 8 + 16  # common header + extended header
ESP_CHIP_ID_OFFSET = 12   # uint16 in the extended header
ESP_HASH_APPENDED_OFFSET = 23
ESP_APP_DESC_MAGIC = 0xABCD5432  # esp_app_desc_t: first word of an application image
DEFAULT_BAUD = 460800

# --------------------------------------------------------------------------------- UF2

UF2_BLOCK_SIZE = 512
UF2_MAGIC_START0 = 0x0A324655
UF2_MAGIC_START1 = 0x9E5D5157
UF2_MAGIC_END = 0x0AB16F30
UF2_FLAG_FAMILY_ID_PRESENT = 0x00002000

FAMILY_RP2040 = 0xE48BFF56
FAMILY_ABSOLUTE = 0xE48BFF57
FAMILY_DATA = 0xE48BFF58
FAMILY_RP2350_ARM_S = 0xE48BFF59
FAMILY_RP2350_RISCV = 0xE48BFF5A
FAMILY_RP2350_ARM_NS = 0xE48BFF5B

FAMILY_NAMES = {
    FAMILY_RP2040: "RP2040",
    FAMILY_ABSOLUTE: "absolute",
    FAMILY_DATA: "data",
    FAMILY_RP2350_ARM_S: "RP2350 Arm secure",
    FAMILY_RP2350_RISCV: "RP2350 RISC-V",
    FAMILY_RP2350_ARM_NS: "RP2350 Arm non-secure",
    0xBFDD4EEE: "ESP32-S2",
    0xC47E5767: "ESP32-S3",
}
FAMILY_CHIP = {FAMILY_RP2040: "RP2040", FAMILY_RP2350_ARM_S: "RP2350",
               FAMILY_RP2350_RISCV: "RP2350", FAMILY_RP2350_ARM_NS: "RP2350"}
CHIP_AGNOSTIC_FAMILIES = (FAMILY_ABSOLUTE, FAMILY_DATA)
BOARD_IDS = {"RPI-RP2": "RP2040", "RP2350": "RP2350"}  # INFO_UF2.TXT Board-ID
INFO_FILE = "INFO_UF2.TXT"
# Where desktops mount USB drives (udisks: /media/USER/LABEL or /run/media/USER/LABEL).
MOUNT_GLOBS: Sequence[str] = ("/media/*/*", "/media/*", "/run/media/*/*", "/mnt/*",
                              "/Volumes/*")


def setup(p: argparse.ArgumentParser) -> None:
    p.add_argument("firmware", metavar="FIRMWARE",
                   help="MicroPython firmware with emlml built in: firmware.bin for an "
                        "ESP32-family board, a .uf2 for an RP2040/RP2350 board")
    p.add_argument("--port", metavar="PORT",
                   help="ESP32: the board's serial port, e.g. /dev/ttyUSB0 (default: the "
                        "only USB serial port; socket://HOST:PORT also works)")
    p.add_argument("--drive", metavar="PATH",
                   help="RP2040/RP2350: the mounted BOOTSEL drive (default: found under "
                        + ", ".join(MOUNT_GLOBS) + ")")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                   help=f"ESP32: baud rate for the write (default {DEFAULT_BAUD})")


def run(args: argparse.Namespace) -> int:
    data = _read_firmware(args.firmware)
    if is_uf2(data):
        if args.port:
            raise CommandError(f"{args.firmware} is a UF2 file, which goes to an RP2040/"
                               "RP2350 BOOTSEL drive, not a serial port: drop --port (and "
                               "use --drive PATH if the drive is not found)")
        flash_uf2(data, args.firmware, args.drive)
        return 0
    if data[:1] == bytes([ESP_IMAGE_MAGIC]):
        if args.drive:
            raise CommandError(f"{args.firmware} is an ESP image, which is written over a "
                               "serial port, not copied to a drive: use --port PORT")
        flash_esp(data, args.firmware, args.port, args.baud)
        return 0
    raise CommandError(f"{args.firmware}: neither an ESP32 firmware image (a .bin starting "
                       f"with 0x{ESP_IMAGE_MAGIC:02X}) nor a UF2 file; use MicroPython's "
                       "firmware.bin (ESP32) or firmware.uf2 (RP2040/RP2350)")


def _read_firmware(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file (check the firmware path)") from None
    except OSError as exc:
        raise CommandError(f"{path}: cannot read the firmware: {exc.strerror or exc}") from None
    if not data:
        raise CommandError(f"{path} is empty: rebuild the firmware")
    return data


# ------------------------------------------------------------------------- ESP32 family


@dataclass(frozen=True)
class EspImage:
    chip_id: int
    chip: str        # esptool's chip key, e.g. "esp32s3"
    chip_name: str   # e.g. "ESP32-S3"


def esp_chips() -> dict[int, tuple[str, Any]]:
    """Image chip id -> (esptool chip key, ROM class), from the installed esptool."""
    require("esptool", "esptool", "read and flash ESP32 firmware")
    from esptool.targets import CHIP_DEFS

    return {cls.IMAGE_CHIP_ID: (key, cls) for key, cls in CHIP_DEFS.items()
            if cls.IMAGE_CHIP_ID is not None}


def esp_image(data: bytes, name: str = "FIRMWARE") -> EspImage:
    """The chip an ESP firmware image was built for, from its (bootloader's) header;
    CommandError unless it is a whole, valid ESP32-family bootloader image."""
    require("esptool", "esptool", "read and flash ESP32 firmware")
    from esptool.bin_image import LoadFirmwareImage
    from esptool.loader import ESPLoader
    from esptool.util import FatalError

    if len(data) < ESP_HEADER_SIZE or data[0] != ESP_IMAGE_MAGIC:
        raise CommandError(f"{name}: no ESP image header (magic 0x{ESP_IMAGE_MAGIC:02X}) at "
                           "its start; use MicroPython's firmware.bin")
    if data[ESP_HASH_APPENDED_OFFSET] not in (0, 1):
        raise CommandError(f"{name}: its header has no ESP32-family extended header (an "
                           "ESP8266 image?): emlml flash writes ESP32-family firmware only")
    chip_id = struct.unpack_from("<H", data, ESP_CHIP_ID_OFFSET)[0]
    chips = esp_chips()
    if chip_id not in chips:
        old = ESPLoader.UNSUPPORTED_CHIPS.get(chip_id)
        what = f" ({old}, no longer supported by esptool)" if old else ""
        raise CommandError(f"{name}: built for image chip id {chip_id}{what}, which the "
                           "installed esptool does not know; is it an ESP32-family firmware?")
    key, cls = chips[chip_id]
    if len(data) >= 36 and struct.unpack_from("<I", data, 32)[0] == ESP_APP_DESC_MAGIC:
        raise CommandError(f"{name} is an application image (micropython.bin, which lives "
                           "at 0x10000), not the full firmware: flash MicroPython's "
                           "firmware.bin, which starts with the bootloader")
    try:
        image = LoadFirmwareImage(key, data)
    except (FatalError, struct.error, RuntimeError, ValueError) as exc:
        raise CommandError(f"{name}: not a valid {cls.CHIP_NAME} bootloader image at its "
                           f"start ({exc}): rebuild or re-download the firmware") from None
    if image.checksum != image.calculate_checksum():
        raise CommandError(f"{name}: the bootloader image checksum is wrong (file corrupt "
                           "or truncated): rebuild or re-download the firmware")
    if image.append_digest and image.stored_digest != image.calc_digest:
        raise CommandError(f"{name}: the bootloader image SHA-256 is wrong (file corrupt "
                           "or truncated): rebuild or re-download the firmware")
    return EspImage(chip_id, key, cls.CHIP_NAME)


def serial_ports() -> list[str]:
    """USB serial ports (a board's USB-UART bridge or native USB), as pyserial lists them."""
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports() if p.vid is not None)


def _default_port() -> str:
    ports = serial_ports()
    if not ports:
        raise CommandError("no USB serial port found: plug the ESP32 board in (with a data "
                           "cable) or give its port with --port")
    if len(ports) > 1:
        raise CommandError(f"several serial ports ({', '.join(ports)}): pick the board's "
                           "with --port")
    return ports[0]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def flash_esp(data: bytes, name: str, port: str | None = None,
              baud: int = DEFAULT_BAUD) -> str:
    """Write an ESP32-family firmware at the chip's bootloader offset, verify, reset.
    Returns the chip name."""
    require("esptool", "esptool", "read and flash ESP32 firmware")
    from esptool.cmds import (
        attach_flash,
        detect_chip,
        reset_chip,
        run_stub,
        verify_flash,
        write_flash,
    )
    from esptool.loader import ESPLoader
    from esptool.util import FatalError, NotImplementedInROMError

    image = esp_image(data, name)
    port = port or _default_port()
    print(f"{name}: {len(data)} bytes of {image.chip_name} firmware (image chip id "
          f"{image.chip_id})", flush=True)
    try:
        esp = detect_chip(port)
    except (FatalError, OSError) as exc:  # OSError: pyserial's SerialException
        raise CommandError(f"{port}: no ESP ROM bootloader answered ({_first_line(exc)}); "
                           "check the port, and if it is right hold BOOT (IO0) while you "
                           "press RESET, then retry") from None
    with esp:  # closes the port, also for the stub that shares it
        if esp.IMAGE_CHIP_ID is None:
            raise CommandError(f"the board on {port} is an {esp.CHIP_NAME}: emlml flash "
                               "writes ESP32-family firmware only")
        if esp.IMAGE_CHIP_ID != image.chip_id:
            raise CommandError(f"refusing to flash {name}: it is built for {image.chip_name} "
                               f"(image chip id {image.chip_id}) but the board on {port} is "
                               f"an {esp.CHIP_NAME} (chip id {esp.IMAGE_CHIP_ID}): use the "
                               f"{esp.CHIP_NAME} build of the firmware")
        offset = esp.BOOTLOADER_FLASH_OFFSET
        try:
            esp = run_stub(esp)
            if baud > ESPLoader.ESP_ROM_BAUD:
                try:
                    esp.change_baud(baud)
                except NotImplementedInROMError:
                    pass
            attach_flash(esp)
            print(f"writing {name} to the {esp.CHIP_NAME} on {port} at 0x{offset:x} "
                  "(its bootloader offset)", flush=True)
            write_flash(esp, [(offset, data)])
            verify_flash(esp, [(offset, data)])
            reset_chip(esp, "hard-reset")
        except (FatalError, OSError) as exc:
            raise CommandError(f"flashing the {esp.CHIP_NAME} on {port} failed: "
                               f"{_first_line(exc)}; put it back in its bootloader (hold "
                               "BOOT, press RESET) and retry") from None
    print(f"flashed {name} ({len(data)} bytes, MD5 {hashlib.md5(data).hexdigest()} "
          f"verified) at 0x{offset:x}; the {image.chip_name} was reset into MicroPython",
          flush=True)
    return image.chip_name


# ------------------------------------------------------------------------ RP2040/RP2350


def is_uf2(data: bytes) -> bool:
    return len(data) >= 8 and struct.unpack_from("<II", data) == (UF2_MAGIC_START0,
                                                                    UF2_MAGIC_START1)


def family_name(family: int) -> str:
    name = FAMILY_NAMES.get(family)
    return f"{name} (0x{family:08x})" if name else f"0x{family:08x}"


def uf2_families(data: bytes, name: str = "FIRMWARE") -> dict[int, int]:
    """Family ID -> block count over the whole file (``-1`` for blocks without one);
    CommandError for anything that is not a sequence of well-formed UF2 blocks."""
    if not data or len(data) % UF2_BLOCK_SIZE:
        raise CommandError(f"{name}: {len(data)} bytes is not a whole number of "
                           f"{UF2_BLOCK_SIZE}-byte UF2 blocks (truncated?)")
    families: dict[int, int] = {}
    for i in range(len(data) // UF2_BLOCK_SIZE):
        at = i * UF2_BLOCK_SIZE
        start0, start1, flags = struct.unpack_from("<III", data, at)
        (end,) = struct.unpack_from("<I", data, at + UF2_BLOCK_SIZE - 4)
        if (start0, start1, end) != (UF2_MAGIC_START0, UF2_MAGIC_START1, UF2_MAGIC_END):
            raise CommandError(f"{name}: block {i} (byte {at}) is not a UF2 block (bad magic "
                               "number): the file is corrupt")
        family = (struct.unpack_from("<I", data, at + 28)[0]
                  if flags & UF2_FLAG_FAMILY_ID_PRESENT else -1)
        families[family] = families.get(family, 0) + 1
    return families


def uf2_chip(families: dict[int, int], name: str = "FIRMWARE") -> str:
    """The one chip (RP2040 or RP2350) a UF2 file's families are for."""
    foreign = [f for f in families if f not in FAMILY_CHIP and f not in CHIP_AGNOSTIC_FAMILIES]
    if foreign:
        what = ", ".join("no family ID" if f == -1 else family_name(f) for f in foreign)
        raise CommandError(f"{name} has UF2 blocks for {what}: not an RP2040/RP2350 image, "
                           "so emlml will not copy it to a BOOTSEL drive")
    chips = sorted({FAMILY_CHIP[f] for f in families if f in FAMILY_CHIP})
    if not chips:
        raise CommandError(f"{name} has only chip-agnostic UF2 blocks "
                           f"({', '.join(family_name(f) for f in families)}): it names no "
                           "chip; use MicroPython's firmware.uf2 for the board")
    if len(chips) > 1:
        raise CommandError(f"{name} mixes RP2040 and RP2350 UF2 blocks: rebuild it for one chip")
    return chips[0]


def read_info(drive: str) -> dict[str, str]:
    """INFO_UF2.TXT as {key: value}."""
    with open(os.path.join(drive, INFO_FILE), encoding="utf-8", errors="replace") as f:
        lines = f.read().splitlines()
    return {k.strip(): v.strip() for k, sep, v in (ln.partition(":") for ln in lines) if sep}


def drive_chip(drive: str) -> str:
    """RP2040 or RP2350, from the drive's INFO_UF2.TXT."""
    try:
        info = read_info(drive)
    except OSError as exc:
        raise CommandError(f"{drive}: cannot read {INFO_FILE} ({exc.strerror or exc}): is it "
                           "a BOOTSEL drive?") from None
    board_id = info.get("Board-ID", "")
    for prefix, chip in BOARD_IDS.items():
        if board_id == prefix or board_id.startswith(prefix + "-"):
            return chip
    raise CommandError(f"{drive} is a UF2 drive with Board-ID {board_id or '(none)'!r} (model "
                       f"{info.get('Model', '?')!r}), not an RP2040 (RPI-RP2) or RP2350 "
                       "BOOTSEL drive: emlml flashes only those")


def find_drives(globs: Iterable[str] | None = None) -> list[str]:
    """Mounted folders that hold an INFO_UF2.TXT (UF2 bootloader drives)."""
    found: dict[str, str] = {}
    for pattern in (MOUNT_GLOBS if globs is None else globs):
        for path in sorted(glob.glob(pattern)):
            try:
                if os.path.isfile(os.path.join(path, INFO_FILE)):
                    found.setdefault(os.path.realpath(path), path)
            except OSError:
                continue
    return list(found.values())


def _choose_drive(drive: str | None) -> str:
    if drive is not None:
        if not os.path.isdir(drive):
            raise CommandError(f"{drive}: no such folder (give the mounted BOOTSEL drive "
                               "with --drive)")
        if not os.path.isfile(os.path.join(drive, INFO_FILE)):
            raise CommandError(f"{drive} has no {INFO_FILE}: not a BOOTSEL drive (hold "
                               "BOOTSEL while plugging the board in, then mount the drive)")
        return drive
    drives = find_drives()
    if not drives:
        raise CommandError("no BOOTSEL drive found (looked for INFO_UF2.TXT under "
                           f"{', '.join(MOUNT_GLOBS)}): hold BOOTSEL while plugging the "
                           "board in (or run `mpremote bootloader` on a running board), "
                           "mount the drive, or give it with --drive PATH")
    if len(drives) > 1:
        raise CommandError(f"several UF2 drives mounted ({', '.join(drives)}): pick the "
                           "board's with --drive")
    return drives[0]


def flash_uf2(data: bytes, name: str, drive: str | None = None) -> str:
    """Copy a UF2 firmware to the BOOTSEL drive of the chip it is for. Returns the path
    written."""
    families = uf2_families(data, name)
    image_chip = uf2_chip(families, name)
    drive = _choose_drive(drive)
    board = drive_chip(drive)
    found = ", ".join(family_name(f) for f in families if f in FAMILY_CHIP)
    if image_chip != board:
        raise CommandError(f"refusing to copy {name}: it is an {image_chip} image (UF2 family "
                           f"{found}) but the BOOTSEL drive {drive} is an {board} (Board-ID "
                           f"{read_info(drive).get('Board-ID')}): use the {board} build of "
                           "the firmware")
    base = os.path.basename(name)
    dest = os.path.join(drive, base if base.lower().endswith(".uf2") else "firmware.uf2")
    print(f"copying {name} ({len(data) // UF2_BLOCK_SIZE} UF2 blocks, {found}) to the "
          f"{board} drive {drive}", flush=True)
    try:
        f = open(dest, "wb")
    except OSError as exc:
        raise CommandError(f"{dest}: cannot write to the drive ({exc.strerror or exc}): is "
                           "it mounted read-write?") from None
    try:
        try:
            f.write(data)
            f.flush()
        except OSError as exc:
            raise CommandError(f"{dest}: the copy failed ({exc.strerror or exc}); put the "
                               "board back in BOOTSEL mode and retry") from None
        try:
            os.fsync(f.fileno())
        except OSError:
            # The board reboots once it has the last block, and the drive may go away
            # before the host has synced its own bookkeeping; the data was sent.
            print("  (the drive went away while syncing: normal, the board rebooted)")
    finally:
        try:
            f.close()
        except OSError:
            pass
    print(f"copied {len(data)} bytes to {dest}; the {board} flashes it and reboots into "
          "MicroPython (the drive disappears)", flush=True)
    return dest
