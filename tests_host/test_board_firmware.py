"""The firmware board definitions (boards/ESP32_GENERIC, ESP32_GENERIC_S3, RPI_PICO,
RPI_PICO2) and `emlml firmware`, as far as they can be checked without ESP-IDF, the pico-sdk
or a MicroPython checkout with ports/ (none of which is here).

- The board files parse: board.json is JSON; every mpconfigboard.cmake (and
  boards/emlml_board.cmake) runs in CMake's script mode against a stand-in port tree
  whose stock boards set what MicroPython's do; the partition tables are consistent; the
  mpconfigboard.h files compile, with -Wall -Werror, on top of the stock headers of
  MicroPython 1.25 and give the flash layout the comments promise; the manifests run in
  MicroPython's own tools/manifestfile.py (1.23, from the PyPI source in build/micropython).
- Every file the board files and the user C module name exists.
- `emlml firmware` (emlml_tools.board.firmware): argument and prerequisite errors, the commands
  of a dry run, and a full run against stand-in make/cmake/idf.py scripts.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import pytest
from emlml_dev.paths import core_sources
from emlml_tools.board import firmware
from runtimes import BUILD, ROOT

BOARDS_DIR = os.path.join(ROOT, "boards")
BOARDS = ["ESP32_GENERIC", "ESP32_GENERIC_S3", "RPI_PICO", "RPI_PICO2"]
PORT = {"ESP32_GENERIC": "esp32", "ESP32_GENERIC_S3": "esp32", "RPI_PICO": "rp2",
        "RPI_PICO2": "rp2"}
MCU = {"ESP32_GENERIC": "esp32", "ESP32_GENERIC_S3": "esp32s3", "RPI_PICO": "rp2040",
       "RPI_PICO2": "rp2350"}
PARTITIONS = {"ESP32_GENERIC": ("partitions-4MiB-romfs.csv", 4 << 20),
              "ESP32_GENERIC_S3": ("partitions-8MiB-romfs.csv", 8 << 20)}
USERMOD_CMAKE = os.path.join(ROOT, "micropython_module", "micropython.cmake")
MPY_SDIST = os.path.join(BUILD, "micropython")  # MicroPython 1.23 from PyPI: py/, tools/

# The stock boards' files as MicroPython 1.25 has them (ports/<port>/boards/<BOARD>/).
STOCK_HEADERS = {
    "ESP32_GENERIC": '#ifndef MICROPY_HW_BOARD_NAME\n#define MICROPY_HW_BOARD_NAME "Generic '
                     'ESP32 module"\n#endif\n#ifndef MICROPY_HW_MCU_NAME\n'
                     '#define MICROPY_HW_MCU_NAME "ESP32"\n#endif\n',
    "ESP32_GENERIC_S3": '#ifndef MICROPY_HW_BOARD_NAME\n#define MICROPY_HW_BOARD_NAME '
                        '"Generic ESP32S3 module"\n#endif\n#define MICROPY_HW_MCU_NAME '
                        '"ESP32-S3"\n#define MICROPY_HW_ENABLE_UART_REPL (1)\n'
                        '#define MICROPY_HW_I2C0_SCL (9)\n#define MICROPY_HW_I2C0_SDA (8)\n',
    "RPI_PICO": '#define MICROPY_HW_BOARD_NAME "Raspberry Pi Pico"\n'
                '#define MICROPY_HW_FLASH_STORAGE_BYTES (1408 * 1024)\n',
    "RPI_PICO2": '#define MICROPY_HW_BOARD_NAME "Raspberry Pi Pico2"\n'
                 '#define MICROPY_HW_FLASH_STORAGE_BYTES (PICO_FLASH_SIZE_BYTES - 1024 * 1024)\n',
}
STOCK_CMAKE = {
    "ESP32_GENERIC": "set(SDKCONFIG_DEFAULTS boards/sdkconfig.base boards/sdkconfig.ble)\n",
    "ESP32_GENERIC_S3": "set(IDF_TARGET esp32s3)\nset(SDKCONFIG_DEFAULTS boards/sdkconfig.base "
                        "boards/sdkconfig.usb boards/sdkconfig.ble boards/sdkconfig.spiram_sx "
                        "boards/ESP32_GENERIC_S3/sdkconfig.board)\n",
    "RPI_PICO": 'set(PICO_BOARD "pico")\nset(PICO_PLATFORM "rp2040")\n',
    "RPI_PICO2": 'set(PICO_BOARD "pico2")\n',
}


def make_micropython(root: str, version: tuple[int, int, int] = (1, 25, 0),
                     boards=BOARDS, git: bool = False, pico_sdk: bool = True) -> str:
    """A stand-in MicroPython checkout: py/mpconfig.h, ports/<port> with the stock boards
    (their mpconfigboard.cmake records the MICROPY_BOARD_DIR it saw), the ports' default
    manifests, and optionally .git and lib/pico-sdk."""
    os.makedirs(os.path.join(root, "py"), exist_ok=True)
    major, minor, micro = version
    with open(os.path.join(root, "py", "mpconfig.h"), "w") as f:
        f.write(f"#define MICROPY_VERSION_MAJOR {major}\n#define MICROPY_VERSION_MINOR {minor}\n"
                f"#define MICROPY_VERSION_MICRO {micro}\n")
    for port in ("esp32", "rp2"):
        port_dir = os.path.join(root, "ports", port)
        os.makedirs(os.path.join(port_dir, "modules"), exist_ok=True)
        open(os.path.join(port_dir, "CMakeLists.txt"), "w").close()
        with open(os.path.join(port_dir, "modules", "_boot.py"), "w") as f:
            f.write("# the port's frozen module\n")
        os.makedirs(os.path.join(port_dir, "boards"), exist_ok=True)
        with open(os.path.join(port_dir, "boards", "manifest.py"), "w") as f:
            f.write('freeze("$(PORT_DIR)/modules")\n')
    for board in boards:
        d = os.path.join(root, "ports", PORT[board], "boards", board)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "mpconfigboard.cmake"), "w") as f:
            f.write(STOCK_CMAKE[board] + "set(STOCK_SAW_BOARD_DIR ${MICROPY_BOARD_DIR})\n")
        with open(os.path.join(d, "mpconfigboard.h"), "w") as f:
            f.write(STOCK_HEADERS[board])
    if git:
        os.makedirs(os.path.join(root, ".git"), exist_ok=True)
    if pico_sdk:
        os.makedirs(os.path.join(root, "lib", "pico-sdk"), exist_ok=True)
        open(os.path.join(root, "lib", "pico-sdk", "pico_sdk_init.cmake"), "w").close()
    return root


# ------------------------------------------------------------------------ board files


@pytest.mark.parametrize("board", BOARDS)
def test_board_json(board):
    with open(os.path.join(BOARDS_DIR, board, "board.json")) as f:
        info = json.load(f)
    assert info["mcu"] == MCU[board]
    assert {"deploy", "docs", "features", "images", "mcu", "product", "url", "vendor"} <= set(info)
    assert "ROMFS" in info["features"] and "emlml" in info["features"]
    for doc in info["deploy"]:
        assert os.path.isfile(os.path.join(BOARDS_DIR, board, doc)), doc


@pytest.mark.parametrize("board", BOARDS)
def test_board_files_present(board):
    d = os.path.join(BOARDS_DIR, board)
    for name in ("mpconfigboard.cmake", "mpconfigboard.h", "manifest.py", "board.json"):
        assert os.path.isfile(os.path.join(d, name)), name
    text = open(os.path.join(d, "mpconfigboard.cmake")).read()
    assert "include(${CMAKE_CURRENT_LIST_DIR}/../emlml_board.cmake)" in text
    assert f"emlml_stock_board({board})" in text
    for csv_name in re.findall(r"\$\{MICROPY_BOARD_DIR\}/([\w.-]+\.csv)", text):
        assert os.path.isfile(os.path.join(d, csv_name)), csv_name
    header = open(os.path.join(d, "mpconfigboard.h")).read()
    assert f'#include "boards/{board}/mpconfigboard.h"' in header


def _make_sources(here: str) -> list[str]:
    """The sources micropython.mk gives MicroPython's make ports, as make evaluates it."""
    script = (f"USERMOD_DIR := {here}\nBUILD := /tmp\ninclude {here}/micropython.mk\n"
              "print:\n\t@echo $(SRC_USERMOD_C) $(SRC_USERMOD_LIB_C)\n")
    out = subprocess.run(["make", "-s", "-f", "-", "print"], input=script, text=True,
                         capture_output=True, check=True).stdout
    return [os.path.relpath(s, here) for s in out.split()]


def _cmake_sources(here: str, tmp_path) -> list[str]:
    """The sources micropython.cmake gives the CMake ports (esp32, rp2), as CMake sees them."""
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.12)\nproject(check NONE)\n"
        "add_library(usermod INTERFACE)\n"
        f"include({here}/micropython.cmake)\n"
        "get_target_property(S usermod_emlml INTERFACE_SOURCES)\n"
        'message(STATUS "EMLML_SOURCES=${S}")\n')
    out = subprocess.run(["cmake", "-S", str(tmp_path), "-B", str(tmp_path / "b")],
                         capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if "EMLML_SOURCES=" in l)
    return [os.path.relpath(s, here) for s in line.split("=", 1)[1].split(";")]


def test_user_c_module_sources_exist_and_agree(tmp_path):
    """micropython.mk and micropython.cmake give the ports the same sources: the binding
    and the core's one list (emlml_sources.txt), all of which exist."""
    if shutil.which("cmake") is None:
        pytest.fail("cmake is not installed (make cmodule-check installs it)")
    here = os.path.dirname(USERMOD_CMAKE)
    expected = ["modemlml.c", *core_sources()]
    for src in expected:
        assert os.path.isfile(os.path.join(here, src)), src
    assert sorted(_make_sources(here)) == sorted(expected)
    assert sorted(_cmake_sources(here, tmp_path)) == sorted(expected)


def test_manifest_module_exists():
    text = open(os.path.join(ROOT, "manifest.py")).read()
    m = re.search(r'module\("([^"]+)", base_path="([^"]+)"\)', text)
    assert os.path.isfile(os.path.join(ROOT, m.group(2), m.group(1)))


@pytest.mark.parametrize("board", sorted(PARTITIONS))
def test_partition_table(board):
    name, flash_size = PARTITIONS[board]
    with open(os.path.join(BOARDS_DIR, board, name)) as f:
        rows = [[c.strip() for c in row] for row in csv.reader(
            line for line in f if line.strip() and not line.startswith("#"))]
    parts = {r[0]: (r[1], r[2], int(r[3], 16), int(r[4], 16)) for r in rows}
    assert list(parts) == ["nvs", "phy_init", "factory", "romfs", "vfs"]
    end = 0x9000  # after the bootloader and the partition table (ESP-IDF's default 0x8000)
    for label, (kind, subtype, offset, size) in parts.items():
        assert offset == end, f"{label} does not follow the partition before it"
        assert offset % 0x1000 == 0 and size % 0x1000 == 0
        end = offset + size
    assert end == flash_size
    assert parts["factory"][2] % 0x10000 == 0            # app partitions: 64 KiB aligned
    assert parts["factory"][3] >= 0x1F0000                # at least the stock 1.25 app size
    assert parts["romfs"][:2] == ("data", "0x8f")         # found by label; subtype as upstream
    assert parts["vfs"][:2] == ("data", "fat")


# ------------------------------------------------------------ CMake, in script mode

DRIVER = """\
set(MICROPY_BOARD_DIR "${BOARD_DIR}")
set(USER_C_MODULES "${USER_MODULES}")
include("${MICROPY_BOARD_DIR}/mpconfigboard.cmake")
foreach(v MICROPY_BOARD_DIR STOCK_SAW_BOARD_DIR USER_C_MODULES MICROPY_FROZEN_MANIFEST
          SDKCONFIG_DEFAULTS IDF_TARGET PICO_BOARD PICO_PLATFORM)
    message(STATUS "${v}=${${v}}")
endforeach()
"""


def run_board_cmake(tmp_path, board: str, version=(1, 25, 0), user_modules: str = ""):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed (make cmodule-check installs it)")
    mpy = make_micropython(str(tmp_path / "micropython"), version)
    port_dir = os.path.join(mpy, "ports", PORT[board])
    driver = tmp_path / "driver.cmake"
    driver.write_text(DRIVER)
    result = subprocess.run(
        ["cmake", f"-DBOARD_DIR={os.path.join(BOARDS_DIR, board)}",
         f"-DUSER_MODULES={user_modules}", "-P", str(driver)],
        cwd=port_dir, capture_output=True, text=True)
    values = dict(re.findall(r"^-- (\w+)=(.*)$", result.stdout, re.M))
    return result, values, port_dir


@pytest.mark.parametrize("board", BOARDS)
def test_board_cmake(tmp_path, board):
    result, v, port_dir = run_board_cmake(tmp_path, board)
    assert result.returncode == 0, result.stdout + result.stderr
    ours = os.path.join(BOARDS_DIR, board)
    assert v["MICROPY_BOARD_DIR"] == ours                         # restored after the stock file
    assert v["STOCK_SAW_BOARD_DIR"] == os.path.join(port_dir, "boards", board)
    assert v["USER_C_MODULES"] == USERMOD_CMAKE
    assert v["MICROPY_FROZEN_MANIFEST"] == os.path.join(ours, "manifest.py")
    if PORT[board] == "esp32":
        defaults = v["SDKCONFIG_DEFAULTS"].split(";")
        assert defaults[0] == "boards/sdkconfig.base"            # the stock list, then ours
        fragment = open(os.path.join(port_dir, defaults[-1])).read()
        csv_path = re.search(r'CONFIG_PARTITION_TABLE_CUSTOM_FILENAME="([^"]+)"', fragment).group(1)
        assert "CONFIG_PARTITION_TABLE_CUSTOM=y" in fragment
        assert csv_path == os.path.join(ours, PARTITIONS[board][0]) and os.path.isfile(csv_path)
        assert v["IDF_TARGET"] == ("esp32s3" if board.endswith("S3") else "")
    else:
        assert v["PICO_BOARD"] == ("pico" if board == "RPI_PICO" else "pico2")


def test_board_cmake_keeps_the_users_modules(tmp_path):
    result, v, _ = run_board_cmake(tmp_path, "RPI_PICO", user_modules="/src/other/micropython.cmake")
    assert result.returncode == 0, result.stderr
    assert v["USER_C_MODULES"] == "/src/other/micropython.cmake;" + USERMOD_CMAKE


@pytest.mark.parametrize("board", ["ESP32_GENERIC", "RPI_PICO2"])
def test_board_cmake_refuses_micropython_before_romfs(tmp_path, board):
    result, _, _ = run_board_cmake(tmp_path, board, version=(1, 24, 1))
    assert result.returncode != 0
    message = " ".join(result.stderr.split())
    assert "MicroPython 1.24" in message and "1.25 or newer" in message


def test_board_cmake_needs_the_stock_board(tmp_path):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    mpy = make_micropython(str(tmp_path / "micropython"), boards=[])
    driver = tmp_path / "driver.cmake"
    driver.write_text(DRIVER)
    result = subprocess.run(["cmake", f"-DBOARD_DIR={os.path.join(BOARDS_DIR, 'RPI_PICO')}",
                             "-P", str(driver)], cwd=os.path.join(mpy, "ports", "rp2"),
                            capture_output=True, text=True)
    assert result.returncode != 0 and "extends MicroPython's RPI_PICO" in result.stderr


# ------------------------------------------------------ mpconfigboard.h, compiled

LAYOUT_CHECK = """\
#include "mpconfigboard.h"
#if defined(STOCK_STORAGE)
// rp2_flash.c (1.25): filesystem at the end of flash, ROMFS right below it.
_Static_assert(MICROPY_HW_ROMFS_BYTES % 4096 == 0, "ROMFS size: 4 KiB multiple");
_Static_assert(MICROPY_HW_FLASH_STORAGE_BYTES % 4096 == 0, "filesystem: 4 KiB multiple");
_Static_assert(MICROPY_HW_ROMFS_BYTES == ROMFS, "ROMFS size as documented");
_Static_assert(MICROPY_HW_ROMFS_BYTES + MICROPY_HW_FLASH_STORAGE_BYTES == STOCK_STORAGE,
               "the ROMFS comes out of the stock filesystem");
_Static_assert(PICO_FLASH_SIZE_BYTES - MICROPY_HW_FLASH_STORAGE_BYTES - MICROPY_HW_ROMFS_BYTES
               == CODE_SPACE, "the firmware keeps the stock code space");
#else
_Static_assert(MICROPY_VFS_ROM == 1, "ROMFS on");
#endif
const char *board_name = MICROPY_HW_BOARD_NAME;
const char *mcu_name = MICROPY_HW_MCU_NAME;
"""

RP2_LAYOUT = {  # flash size, stock filesystem, ROMFS, code space before the ROMFS
    "RPI_PICO": (2 << 20, 1408 << 10, 256 << 10, 640 << 10),
    "RPI_PICO2": (4 << 20, 3 << 20, 512 << 10, 1 << 20),
}


@pytest.mark.parametrize("board", BOARDS)
def test_mpconfigboard_h(tmp_path, board):
    mpy = make_micropython(str(tmp_path / "micropython"))
    src = tmp_path / "check.c"
    src.write_text(LAYOUT_CHECK)
    flags = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only"]
    if board in RP2_LAYOUT:
        flash, stock, romfs, code = RP2_LAYOUT[board]
        flags += [f"-DPICO_FLASH_SIZE_BYTES={flash}", f"-DSTOCK_STORAGE={stock}",
                  f"-DROMFS={romfs}", f"-DCODE_SPACE={code}", '-DMICROPY_HW_MCU_NAME="RP2"']
    # The ports' include order: the board directory, then the port directory.
    cmd = ["gcc", *flags, "-I", os.path.join(BOARDS_DIR, board),
           "-I", os.path.join(mpy, "ports", PORT[board]), str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# ------------------------------------------------ manifests, MicroPython's own reader


@pytest.mark.parametrize("board", BOARDS)
def test_manifest_freezes_emlml_util(tmp_path, board):
    tools = os.path.join(MPY_SDIST, "tools")
    if not os.path.isfile(os.path.join(tools, "manifestfile.py")):
        pytest.skip("build/micropython is missing: run `make setup`")
    sys.path.insert(0, tools)
    try:
        import manifestfile
    finally:
        sys.path.remove(tools)
    mpy = make_micropython(str(tmp_path / "micropython"))
    manifest = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {
        "MPY_DIR": mpy, "MPY_LIB_DIR": os.path.join(mpy, "lib", "micropython-lib"),
        "PORT_DIR": os.path.join(mpy, "ports", PORT[board]),
        "BOARD_DIR": os.path.join(BOARDS_DIR, board)})
    manifest.execute(os.path.join(BOARDS_DIR, board, "manifest.py"))
    frozen = {f.target_path: f.full_path for f in manifest.files()}
    assert set(frozen) == {"_boot.py", "emlml_util.py"}
    assert os.path.samefile(frozen["emlml_util.py"],
                            os.path.join(ROOT, "micropython_module", "python", "emlml_util.py"))


# ------------------------------------------------------------------- emlml firmware


def fake_tools(tmp_path, names, fail: str | None = None) -> str:
    """A PATH of stand-in tools that log their arguments; `cmake --build` and the esp32
    `make ... BUILD=` leave a firmware file where the real build would."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "log"
    for name in names:
        script = textwrap.dedent(f"""\
            #!/bin/sh
            echo "{name} $*" >> "{log}"
            [ "{name}" = "{fail}" ] && exit 3
            if [ "{name}" = cmake ] && [ "$1" = --build ]; then : > "$2/firmware.uf2"; fi
            for a in "$@"; do case "$a" in BUILD=*) mkdir -p "${{a#BUILD=}}"; : > "${{a#BUILD=}}/firmware.bin";; esac; done
            exit 0
            """)
        (bin_dir / name).write_text(script)
        (bin_dir / name).chmod(0o755)
    return str(bin_dir)


ESP_TOOLS = ["make", "cc", "idf.py"]
RP2_TOOLS = ["make", "cc", "cmake", "arm-none-eabi-gcc"]


def firmware_cli(monkeypatch, capsys, argv, path=None, env=None):
    monkeypatch.delenv("MICROPY_DIR", raising=False)
    monkeypatch.delenv("PICO_SDK_PATH", raising=False)
    monkeypatch.delenv("IDF_PATH", raising=False)
    if path is not None:
        monkeypatch.setenv("PATH", path)
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    status = firmware.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_firmware_boards_match_board_dirs():
    assert sorted(firmware.BOARDS) == sorted(BOARDS)
    for board, b in firmware.BOARDS.items():
        assert b.port == PORT[board]


def test_firmware_unknown_board(monkeypatch, capsys):
    with pytest.raises(SystemExit) as exc:
        firmware_cli(monkeypatch, capsys, ["ESP8266_GENERIC"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_firmware_needs_micropy_dir(monkeypatch, capsys):
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO"])
    assert status == 1 and "MICROPY_DIR is not set" in err


def test_firmware_micropy_dir_missing(monkeypatch, capsys, tmp_path):
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO"],
                                  env={"MICROPY_DIR": str(tmp_path / "nope")})
    assert status == 1 and "no such directory" in err


def test_firmware_not_a_checkout(monkeypatch, capsys, tmp_path):
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--micropython", tmp_path])
    assert status == 1 and "is not a MicroPython checkout (no py/mpconfig.h)" in err


def test_firmware_refuses_the_pypi_source(monkeypatch, capsys):
    """build/micropython (MicroPython 1.23 from PyPI) has py/ but no ports/."""
    if not os.path.isfile(os.path.join(MPY_SDIST, "py", "mpconfig.h")):
        pytest.skip("build/micropython is missing: run `make setup`")
    status, _, err = firmware_cli(monkeypatch, capsys, ["ESP32_GENERIC"],
                                  env={"MICROPY_DIR": MPY_SDIST})
    assert status == 1 and "ports/esp32 is missing" in err and "PyPI" in err


def test_firmware_micropython_too_old(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"), version=(1, 24, 1))
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO2", "--micropython", mpy])
    assert status == 1
    assert "MicroPython 1.24.1" in err and "too old" in err and "1.25 or newer" in err


def test_firmware_stock_board_missing(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"), boards=["RPI_PICO"])
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO2", "--micropython", mpy])
    assert status == 1 and "boards/RPI_PICO2/mpconfigboard.cmake does not exist" in err


def test_firmware_needs_esp_idf(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, ["make", "cc"])
    status, _, err = firmware_cli(monkeypatch, capsys, ["ESP32_GENERIC", "--micropython", mpy],
                                  path=path)
    assert status == 1 and "ESP-IDF is not set up" in err and "idf.py is not on PATH" in err
    path = fake_tools(tmp_path, ESP_TOOLS)
    status, _, err = firmware_cli(monkeypatch, capsys, ["ESP32_GENERIC", "--micropython", mpy],
                                  path=path)
    assert status == 1 and "IDF_PATH is not set" in err and "export.sh" in err


@pytest.mark.parametrize("missing", ["cmake", "arm-none-eabi-gcc", "make"])
def test_firmware_needs_rp2_tools(monkeypatch, capsys, tmp_path, missing):
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, [t for t in RP2_TOOLS if t != missing])
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--micropython", mpy],
                                  path=path)
    assert status == 1 and f"{missing} not found on PATH" in err


def test_firmware_needs_a_pico_sdk(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"), pico_sdk=False)
    path = fake_tools(tmp_path, RP2_TOOLS)
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--micropython", mpy],
                                  path=path)
    assert status == 1 and "pico-sdk not found" in err and "submodules" in err
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--micropython", mpy],
                                  path=path, env={"PICO_SDK_PATH": str(tmp_path)})
    assert status == 1 and "is not a pico-sdk" in err


def test_firmware_dry_run_esp32(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"), git=True)
    path = fake_tools(tmp_path, ESP_TOOLS)
    status, out, err = firmware_cli(
        monkeypatch, capsys, ["ESP32_GENERIC_S3", "--dry-run", "--build-dir", tmp_path / "b"],
        path=path, env={"MICROPY_DIR": mpy, "IDF_PATH": "/opt/esp-idf"})
    assert status == 0, err
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    board_dir = os.path.join(BOARDS_DIR, "ESP32_GENERIC_S3")
    assert commands == [
        f"make -C {mpy}/mpy-cross",
        f"make -C {mpy}/ports/esp32 BOARD=ESP32_GENERIC_S3 submodules",
        f"make -C {mpy}/ports/esp32 BOARD_DIR={board_dir} BUILD={tmp_path / 'b'}",
    ]
    assert f"firmware would be {tmp_path / 'b' / 'firmware.bin'}" in out
    assert "MicroPython 1.25.0" in out and "IDF_PATH=/opt/esp-idf" in out
    assert not (tmp_path / "log").exists()  # nothing ran


def test_firmware_dry_run_rp2(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"), pico_sdk=False)
    sdk = tmp_path / "pico-sdk"
    sdk.mkdir()
    (sdk / "pico_sdk_init.cmake").write_text("")
    path = fake_tools(tmp_path, RP2_TOOLS)
    status, out, err = firmware_cli(
        monkeypatch, capsys, ["RPI_PICO2", "--dry-run", "-j", "3", "--no-submodules"],
        path=path, env={"MICROPY_DIR": mpy, "PICO_SDK_PATH": str(sdk)})
    assert status == 0, err
    build = os.path.join(ROOT, "build", "firmware", "RPI_PICO2")  # the checkout it ran in
    commands = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert commands == [
        f"make -C {mpy}/mpy-cross",
        f"cmake -S {mpy}/ports/rp2 -B {build} -DMICROPY_BOARD=RPI_PICO2 "
        f"-DMICROPY_BOARD_DIR={os.path.join(BOARDS_DIR, 'RPI_PICO2')} -DPICO_BUILD_DOCS=0 "
        f"-DPICO_SDK_PATH_OVERRIDE={sdk}",
        f"cmake --build {build} -j 3",
    ]
    assert "PICO_SDK_PATH=" in out and "firmware.uf2" in out


def test_firmware_needs_the_emlml_checkout(monkeypatch, capsys, tmp_path):
    """The installed tools carry no C source: the firmware builds from an emlml checkout,
    the current folder or --emlml; anywhere else says so instead of failing in cmake."""
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, RP2_TOOLS)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    status, out, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--dry-run"], path=path,
                                    env={"MICROPY_DIR": mpy})
    assert status == 1 and "is not an emlml checkout" in err and "--emlml DIR" in err
    status, out, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--dry-run", "--emlml",
                                                          ROOT], path=path,
                                    env={"MICROPY_DIR": mpy})
    assert status == 0, err
    assert f"-DMICROPY_BOARD_DIR={os.path.join(BOARDS_DIR, 'RPI_PICO')}" in out
    assert os.path.join(ROOT, "build", "firmware", "RPI_PICO") in out


def test_firmware_skips_submodules_outside_git(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, RP2_TOOLS)
    status, out, _ = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--dry-run"], path=path,
                                  env={"MICROPY_DIR": mpy})
    assert status == 0 and "not a git checkout, skipped" in out and "submodules\n" not in out
    assert "-DPICO_SDK_PATH_OVERRIDE" not in out  # MicroPython's own lib/pico-sdk


@pytest.mark.parametrize("board", BOARDS)
def test_firmware_runs_the_commands(monkeypatch, capsys, tmp_path, board):
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, ESP_TOOLS if PORT[board] == "esp32" else RP2_TOOLS)
    build = tmp_path / "build"
    build.mkdir()
    status, out, err = firmware_cli(monkeypatch, capsys,
                                    [board, "--micropython", mpy, "--build-dir", build],
                                    path=path, env={"IDF_PATH": "/opt/esp-idf"})
    assert status == 0, err
    ran = (tmp_path / "log").read_text().splitlines()
    printed = [line[2:] for line in out.splitlines() if line.startswith("$ ")]
    assert ran == printed                                   # exactly what was printed
    fw = build / firmware.BOARDS[board].firmware
    assert f"firmware: {fw}" in out and f"flash it: emlml flash {fw}" in out


def test_firmware_reports_a_failing_step(monkeypatch, capsys, tmp_path):
    mpy = make_micropython(str(tmp_path / "mpy"))
    path = fake_tools(tmp_path, RP2_TOOLS, fail="cmake")
    status, _, err = firmware_cli(monkeypatch, capsys, ["RPI_PICO", "--micropython", mpy,
                                                        "--build-dir", tmp_path / "b"], path=path)
    assert status == 1 and "failed (exit status 3)" in err and "cmake -S" in err


def test_firmware_as_an_emlml_command(monkeypatch, capsys):
    """It is an `emlml` command (the CLI registry) and runs through cli.main."""
    from emlml_tools import cli
    assert cli._COMMANDS["firmware"].handler == "emlml_tools.board.firmware:run"
    monkeypatch.delenv("MICROPY_DIR", raising=False)
    assert cli.main(["firmware", "RPI_PICO"]) == 1
    assert "emlml: MICROPY_DIR is not set" in capsys.readouterr().err
