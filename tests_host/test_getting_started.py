"""The getting-started pages, run as a user runs them, so that they cannot drift from the
tools: docs/getting-started-esp32.md against the official ESP32 firmware in QEMU, and
docs/getting-started-pico.md against the official RPI_PICO firmware in rp2040js.

Each page's ```sh blocks are its commands and its ```python blocks that start with
``# file: NAME`` are files the user saves. They run in an empty folder, with a fresh
virtual environment made by the page's own commands, PATH without this checkout's .venv
and no PYTHONPATH. Two substitutions stand in for what a test cannot have: the wheel of
`make dist` for PyPI (``pip install emlml`` -> ``pip install -c requirements.txt
dist/emlml-*.whl``: the same pinned versions as every other test), and the emulator's port
for the board's (``PORT=...``).

rp2040js emulates no flash writes: on the emulated Pico the commands that write to the
board (``emlml install``, ``emlml deploy``, ``mpremote cp``) are replaced by putting the
files they choose into the filesystem image before boot (the module comes from the page's
venv, chosen for the Pico's ``sys.implementation._mpy`` by the installed emlml), ``mpremote
run`` runs the file on the booted board, and ``emlml demo --port`` (which copies its files)
is the one command not run there; the ESP32 page runs all of it, the demo included.
"""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass

import pytest
from emlml_dev import emulators
from emlml_dev import esp32_board as eb
from emlml_dev import rp2040_board as rb
from runtimes import BUILD, ROOT

DIST = os.path.join(ROOT, "dist")
REQUIREMENTS = os.path.join(ROOT, "requirements.txt")
ARCHS = ("armv6m", "armv7emsp", "armv7m", "x64", "xtensawin")
# sys.implementation._mpy of the official RPI_PICO firmware: armv6m (4) << 10, .mpy 6.3
PICO_MPY = (4 << 10) | (3 << 8) | 6


@dataclass
class Page:
    files: dict[str, str]
    commands: list[str]


def read_page(name: str) -> Page:
    with open(os.path.join(ROOT, "docs", name)) as f:
        text = f.read()
    files, commands = {}, []
    for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, flags=re.S):
        if lang == "python" and body.startswith("# file: "):
            first, _, rest = body.partition("\n")
            files[first.split(": ", 1)[1].strip()] = rest
        elif lang == "sh":
            commands += [line for line in body.splitlines() if line.strip()]
    return Page(files, commands)


def wheel() -> str:
    found = sorted(glob.glob(os.path.join(DIST, "emlml-*.whl")))
    if not found:
        pytest.fail("no dist/emlml-*.whl: run make dist (make test does)", pytrace=False)
    return found[-1]


def user_command(line: str, port: str) -> str:
    if line == "pip install emlml":
        return f"pip install -q -c {shlex.quote(REQUIREMENTS)} {shlex.quote(wheel())}"
    if line.startswith("PORT="):
        return f"PORT={shlex.quote(port)}"
    return line


def user_env() -> dict[str, str]:
    venv_bin = os.path.join(ROOT, ".venv", "bin")
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep)
                           if os.path.abspath(p) != venv_bin)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return dict(env, PATH=path)


def run_shell(lines: list[str], cwd: str, timeout: float = 1500) -> str:
    """The commands in one bash, stopping at the first that fails; its whole output."""
    script = "set -euo pipefail\n" + "\n".join(f"echo '$ '{shlex.quote(c)}\n{c}" for c in lines)
    result = subprocess.run(["bash", "-c", script], cwd=cwd, env=user_env(), timeout=timeout,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert result.returncode == 0, result.stdout[-6000:]
    return result.stdout


def write_files(page: Page, cwd: str) -> None:
    for name, text in page.files.items():
        with open(os.path.join(cwd, name), "w") as f:
            f.write(text)


def answers(out: str) -> tuple[str, str]:
    sk = re.search(r"^scikit-learn says: (\w+)$", out, flags=re.M)
    board = re.search(r"^the board says: (\w+)$", out, flags=re.M)
    assert sk and board, out[-3000:]
    return sk.group(1), board.group(1)


def check_listing(out: str) -> None:
    """`emlml install --list` from the installed wheel names the five modules."""
    listing = out.split("$ emlml install --list", 1)[1].split("\n$ ", 1)[0]
    for arch in ARCHS:
        assert re.search(rf"^{arch} .* {arch}/emlml\.mpy$", listing, flags=re.M), listing
    assert "emlml-env" in listing and "emlml_tools/mpy" in listing, listing


def test_the_esp32_page_on_the_emulated_esp32():
    missing = emulators.missing_for_tests("esp32")
    if missing:
        pytest.fail(missing, pytrace=False)
    page = read_page("getting-started-esp32.md")
    with tempfile.TemporaryDirectory(prefix="user-") as cwd, \
            eb.Board(workdir=os.path.join(BUILD, "esp32")) as board:
        write_files(page, cwd)
        out = run_shell([user_command(c, board.device) for c in page.commands], cwd)
    print(out)
    check_listing(out)
    assert "installed emlml" in out and "(xtensawin, trees, knn, cnn) as :lib/emlml.mpy" in out
    for model in ("gestures_forest", "motion_cnn"):  # the demo on the board, every answer equal
        assert re.search(rf"^\| {model} .*\| 20/20 100% \|", out, flags=re.M), out[-4000:]
    sk, on_board = answers(out)
    assert on_board == sk


@dataclass
class PicoBoardStep:
    files: dict[str, str]       # board path -> host path, put before boot
    run: list[str]              # host files to run on the board, in order


def pico_steps(page: Page, cwd: str, venv_python: str) -> tuple[list[str], PicoBoardStep, list[str]]:
    """(host commands, what the board commands amount to, the commands not run)."""
    host, step, not_run = [], PicoBoardStep({}, []), []
    for line in page.commands:
        words = line.split()
        if line.startswith("PORT="):
            continue
        if "$PORT" not in line:
            host.append(user_command(line, ""))
        elif words[:2] == ["emlml", "install"]:
            host.append(f"{venv_python} -c 'from emlml_tools.board.install import choose; "
                        f"from emlml_tools.board.transport import BoardInfo; "
                        f"print(\"MODULE\", choose(BoardInfo({PICO_MPY})).path)' > module.txt")
            step.files["/lib/emlml.mpy"] = "module.txt"
        elif words[:2] == ["emlml", "deploy"]:
            path = words[words.index("--path") + 1] if "--path" in words else "model.bin"
            step.files["/" + path] = words[2]
        elif words[:4] == ["mpremote", "connect", "$PORT", "cp"]:
            step.files["/" + words[5].lstrip(":")] = words[4]
        elif words[:4] == ["mpremote", "connect", "$PORT", "run"]:
            step.run.append(words[4])
        else:
            not_run.append(line)
    return host, step, not_run


def test_the_pico_page_on_the_emulated_pico():
    missing = emulators.missing_for_tests("rp2040", commands=("node",))
    if missing:
        pytest.fail(missing, pytrace=False)
    page = read_page("getting-started-pico.md")
    with tempfile.TemporaryDirectory(prefix="user-") as cwd:
        venv_python = os.path.join(cwd, "emlml-env", "bin", "python")
        host, step, not_run = pico_steps(page, cwd, venv_python)
        assert [c.split()[:2] for c in not_run] == [["emlml", "demo"]], not_run
        write_files(page, cwd)
        out = run_shell(host, cwd)
        check_listing(out)
        with open(os.path.join(cwd, "module.txt")) as f:
            module = f.read().split("MODULE ", 1)[1].strip()
        assert module.endswith(os.path.join("emlml_tools", "mpy", "armv6m", "emlml.mpy"))
        files = {dest: module if src == "module.txt" else os.path.join(cwd, src)
                 for dest, src in step.files.items()}
        files["/lib/emlml_util.py"] = os.path.join(os.path.dirname(module), "emlml_util.py")
        with rb.Board(rb.fs_image(files), workdir=os.path.join(BUILD, "rp2040")) as board:
            board.wait_repl()
            board.enter_raw()
            assert rb.board_mpy(board) == PICO_MPY
            for script in step.run:
                with open(os.path.join(cwd, script)) as f:
                    result = board.exec(f.read(), timeout=300)
                assert not result.stderr, result.stderr
                out += result.stdout
    print(out)
    sk, on_board = answers(out)
    assert on_board == sk


def test_pages_show_real_commands_only():
    """Every command a page shows is one the tests run (or, on the Pico, map)."""
    for name in ("getting-started-esp32.md", "getting-started-pico.md"):
        page = read_page(name)
        assert page.commands[0] == "python3 -m venv emlml-env", name
        assert "pip install emlml" in page.commands and any(c.startswith("PORT=") for c in page.commands)
        tools = {c.split()[0] for c in page.commands if not c.startswith("PORT=")}
        assert tools <= {"python3", ".", "pip", "emlml", "mpremote", "python"}, tools
        assert {"train_gestures.py", "predict_gesture.py"} <= set(page.files), name
