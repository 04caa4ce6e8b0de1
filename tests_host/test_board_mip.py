"""mip packages of the native module (emlml_tools.board.mip, `make mip-packages`).

The generated package.json files are checked as data (valid JSON, relative URLs that
point at files next to them, the version of emlml_tools), then installed by the two real
mip implementations this project has: mpremote's (1.29, from a local package.json, through a
stand-in board filesystem) and the on-device mip frozen into the MicroPython unix runtime
(`mip.install(URL)` from a local HTTP server), after which the installed module is imported
and runs a model.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from emlml_tools import __version__
from emlml_tools.board import mip as mip_package
from emlml_tools.board.transport import micropython_command
from runtimes import BUILD, DEVICE_TESTS, NATMOD_X64, ROOT, require_built

ARCHS = ["armv6m", "armv7emsp", "armv7m", "x64"]
UTIL_SOURCE = os.path.join(ROOT, "micropython_module", "python", "emlml_util.py")
BLOB = os.path.join(DEVICE_TESTS, "data", "breast_cancer_extratrees.bin")


@pytest.fixture
def natmod(tmp_path):
    """A build/natmod-like folder with the real emlml.mpy of every arch."""
    root = tmp_path / "natmod"
    for arch in ARCHS:
        (root / arch / "obj").mkdir(parents=True)
        shutil.copy(require_built(os.path.join(BUILD, "natmod", arch, "emlml.mpy")),
                    root / arch / "emlml.mpy")
    (root / "not-an-arch").mkdir()  # a folder without emlml.mpy gets no package
    return root


def check_package(path: str) -> dict:
    with open(path) as f:
        pkg = json.load(f)
    assert set(pkg) <= {"urls", "deps", "version", "hashes"}
    assert pkg["version"] == __version__
    assert [target for target, _ in pkg["urls"]] == ["emlml.mpy", "emlml_util.py"]
    here = os.path.dirname(path)
    for _, url in pkg["urls"]:
        assert ":" not in url and not url.startswith("/"), f"{url} is not relative"
        assert os.path.isfile(os.path.join(here, url)), f"{url} is not next to {path}"
    with open(os.path.join(here, "emlml_util.py"), "rb") as a, open(UTIL_SOURCE, "rb") as b:
        assert a.read() == b.read(), "emlml_util.py is stale: run make mip-packages"
    return pkg


def test_generate(natmod):
    written = mip_package.generate(str(natmod))
    assert [os.path.basename(os.path.dirname(p)) for p in written] == ARCHS
    for path in written:
        check_package(path)
    assert not (natmod / "not-an-arch" / "package.json").exists()


def test_main(natmod, capsys):
    assert mip_package.main(["--natmod", str(natmod)]) == 0
    out = capsys.readouterr().out
    for arch in ARCHS:
        assert f"{natmod / arch / 'package.json'}: emlml {__version__} for {arch}" in out


def test_main_without_modules(tmp_path, capsys):
    assert mip_package.main(["--natmod", str(tmp_path / "nothing")]) == 1
    assert "make natmod-all" in capsys.readouterr().err


def test_makefile_target():
    """The top-level Makefile builds the packages after the modules."""
    text = open(os.path.join(ROOT, "Makefile")).read()
    assert "mip-packages: natmod-all\n\t$(VPY) -m emlml_tools.board.mip --natmod $(BUILD)/natmod" \
        in text


def test_build_output():
    """What `make mip-packages` left in build/natmod, when it has run."""
    found = sorted(p for p in (os.path.join(BUILD, "natmod", a, "package.json") for a in
                               os.listdir(os.path.join(BUILD, "natmod")))
                   if os.path.isfile(p)) if os.path.isdir(os.path.join(BUILD, "natmod")) else []
    if not found:
        pytest.fail("no build/natmod/<arch>/package.json: run make mip-packages (make test does)",
                    pytrace=False)
    for path in found:
        check_package(path)


class BoardFolder:
    """What mpremote's mip needs of a transport: a folder standing in for the board."""

    def __init__(self, root):
        self.root = str(root)

    def _path(self, path: str) -> str:
        return os.path.join(self.root, path.lstrip("/"))

    def fs_exists(self, path: str) -> bool:
        return os.path.exists(self._path(path))

    def fs_mkdir(self, path: str) -> None:
        os.mkdir(self._path(path))

    def fs_writefile(self, path: str, data: bytes, progress_callback=None) -> None:
        with open(self._path(path), "wb") as f:
            f.write(data)


def test_mpremote_mip_installs_a_local_package(natmod, tmp_path, capsys):
    mpremote_mip = pytest.importorskip("mpremote.mip")
    mip_package.generate(str(natmod))
    board = BoardFolder(tmp_path / "board")
    os.mkdir(board.root)
    package = str(natmod / "armv6m" / "package.json")
    # What `mpremote mip install build/natmod/armv6m/package.json` runs once connected.
    mpremote_mip._install_package(board, package, "https://micropython.org/pi/v2", "/lib",
                                  None, True)
    for name in ("emlml.mpy", "emlml_util.py"):
        with open(os.path.join(board.root, "lib", name), "rb") as got, \
                open(natmod / "armv6m" / name, "rb") as want:
            assert got.read() == want.read()
    assert "Installing: /lib/emlml.mpy" in capsys.readouterr().out


@pytest.fixture
def http_server(natmod):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(natmod))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_on_device_mip_installs_over_http(natmod, http_server, tmp_path, device_data):
    """mip.install(URL) in the MicroPython unix runtime (its frozen mip), then the module
    it installed loads a model."""
    require_built(os.path.join(NATMOD_X64, "emlml.mpy"))
    mip_package.generate(str(natmod))
    board = tmp_path / "board"
    board.mkdir()
    shutil.copy(BLOB, board / "m.bin")
    install = (f"import mip\nmip.install('{http_server}/x64/package.json', target='lib')\n")
    result = subprocess.run([micropython_command(), "-c", install], cwd=board,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Done" in result.stdout, result.stdout + result.stderr
    assert sorted(os.listdir(board / "lib")) == ["emlml.mpy", "emlml_util.py"]
    use = ("import emlml, emlml_util\npath, m = emlml_util.load_first('m.bin')\n"
           "print(path, m.kind, m.blob_size)\n")
    env = dict(os.environ, MICROPYPATH="lib")
    result = subprocess.run([micropython_command(), "-c", use], cwd=board, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.split() == ["m.bin", "trees", str(os.path.getsize(BLOB))]


def test_generate_a_release_layout(natmod, tmp_path):
    """--out: the packages with a copy of each module (what make dist ships), one-family
    builds in their own folders."""
    os.makedirs(natmod / "x64" / "trees")
    shutil.copy(natmod / "x64" / "emlml.mpy", natmod / "x64" / "trees" / "emlml.mpy")
    out = tmp_path / "mip"
    written = mip_package.generate(str(natmod), out=str(out))
    rel = sorted(os.path.relpath(p, out) for p in written)
    assert rel == sorted([os.path.join(a, "package.json") for a in ARCHS]
                         + [os.path.join("x64", "trees", "package.json")])
    for path in written:
        check_package(path)
    assert not (natmod / "x64" / "package.json").exists()  # the source folder is untouched


def test_real_mpremote_mip_install_on_the_emulated_esp32():
    """`mpremote connect socket://... mip install dist/mip/xtensawin/package.json` (the
    real command line) on the official ESP32 firmware in QEMU; then emlml imports there
    and is the module the release carries."""
    from emlml_dev import emulators
    from emlml_dev import esp32_board as eb

    missing = emulators.missing_for_tests("esp32")
    if missing:
        pytest.fail(missing, pytrace=False)
    package = os.path.join(ROOT, "dist", "mip", "xtensawin", "package.json")
    require_built(package)
    with eb.Board(workdir=os.path.join(BUILD, "esp32")) as board:
        result = subprocess.run([sys.executable, "-m", "mpremote", "connect", board.device,
                                 "mip", "install", package], capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0 and "Done" in result.stdout, result.stdout + result.stderr
        out = board.mpremote("exec", "import os, emlml, emlml_util\n"
                             "print('GOT', emlml.__version__, os.stat('lib/emlml.mpy')[6])").stdout
    size = os.path.getsize(os.path.join(ROOT, "dist", "mip", "xtensawin", "emlml.mpy"))
    assert f"GOT {__version__} {size}" in out, out
