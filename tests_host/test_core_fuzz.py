"""The libFuzzer target on the C core (ASan + UBSan): the committed corpus and every
past crash replayed, then a bounded fuzzing session (EMLML_FUZZ_SECONDS, default 60).
Zero crashes, zero sanitizer reports, zero leaks."""

from __future__ import annotations

import os
import subprocess

from runtimes import BUILD, ROOT, require_built

FUZZER = os.path.join(BUILD, "host", "fuzz_blob")
CORPUS = os.path.join(ROOT, "tests_host", "fuzz", "corpus")
REGRESSIONS = os.path.join(ROOT, "tests_host", "fuzz", "regressions")


def run_fuzzer(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1", UBSAN_OPTIONS="halt_on_error=1")
    return subprocess.run([require_built(FUZZER)] + args, capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_corpus_and_regressions_replay_clean():
    inputs = sorted(os.path.join(d, f) for d in (CORPUS, REGRESSIONS)
                    for f in os.listdir(d) if not f.startswith("README"))
    assert len(inputs) >= 9
    result = run_fuzzer(inputs, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ERROR" not in result.stderr and "runtime error" not in result.stderr


def test_bounded_fuzz_session(tmp_path):
    seconds = int(os.environ.get("EMLML_FUZZ_SECONDS", "60"))
    work = tmp_path / "corpus"
    work.mkdir()
    result = run_fuzzer(["-max_len=4096", f"-max_total_time={seconds}", "-print_final_stats=1",
                         f"-artifact_prefix={tmp_path}/", str(work), CORPUS],
                        timeout=seconds + 300)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = next(int(line.split()[-1]) for line in result.stderr.splitlines()
                if line.startswith("stat::number_of_executed_units"))
    print(f"fuzzed {runs} inputs in {seconds} s")
    assert runs > 1000
