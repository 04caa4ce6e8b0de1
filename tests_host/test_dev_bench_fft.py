"""Smoke test of the FFT benchmarks (not a benchmark): the bare-metal program of
`emlml_dev.bench_fft_boards` runs on both emulated Cortex-M boards and its emlml_fft_real
gives the bits of the host's fft_real (armv6m soft float, armv7emsp hard float), so the
benchmark cannot silently time a broken build; `emlml_dev.bench_fft` (host, callgrind)
prints its three rows."""

from __future__ import annotations

import shutil

import pytest
from emlml_dev import bench_fft, bench_fft_boards


@pytest.mark.parametrize("arch", list(bench_fft_boards.ARCHS))
def test_board_fft_gives_the_reference_bits(arch, tmp_path):
    for tool in (bench_fft_boards.CC, "qemu-system-arm"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: make arm-toolchain qemu-tools")
    got = bench_fft_boards.measure(arch, str(tmp_path))  # raises unless the bits are fft_real's
    for name in ("emlml", "emlearn"):
        assert all(got[name][n] > 0 for n in bench_fft_boards.POINTS)


def test_host_bench_prints_its_rows(capsys):
    if shutil.which("valgrind") is None:
        pytest.fail("valgrind is missing: apt-get install valgrind")
    assert bench_fft.main([]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert [int(r.split()[0]) for r in rows] == list(bench_fft.POINTS)
