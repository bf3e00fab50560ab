"""The parser fuzz of ``bench/fuzz_parsers.py``, small and deterministic: a few hundred mutated
.POMDP and POMDPX documents (byte flips, token deletion and duplication, huge/negative/NaN/
Unicode-digit numbers, truncation, header size inflation, hostile statements and XML fragments,
generated factored documents) each give a model or a ParseError, fast, under a 256 MiB limit."""

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "fuzz_parsers.py"


def _bench():
    if "fuzz_parsers" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fuzz_parsers", BENCH)
        module = importlib.util.module_from_spec(spec)
        sys.modules["fuzz_parsers"] = module  # dataclasses look their module up here
        spec.loader.exec_module(module)
    return sys.modules["fuzz_parsers"]


def test_mutated_files_give_a_model_or_a_parse_error_quickly():
    fz = _bench()
    sources = fz.load_sources(max_bytes=60_000)  # the eleven small classic files
    assert len(sources) >= 10
    # CPU-time limit 5 s here (1 s in the bench run): CI machines are slower and shared
    tally = fz.fuzz(300, seed=None, sources=sources, timeout=5.0, hard_timeout=30.0, trace_memory=False,
                    save_dir=None, derandomize=True)
    assert sum(tally.counts.values()) == 300
    assert tally.failures == [], tally.failures[:3]
    assert tally.counts["ParseError"] > 100 and tally.counts["ok"] > 10  # both paths exercised


def test_the_fuzz_reports_other_exceptions_slow_parses_and_saves_a_reproducer(tmp_path, monkeypatch):
    """The harness itself can fail: a reader that raises KeyError is reported with a reproducer."""
    fz = _bench()

    def broken(path):
        raise KeyError("x")

    monkeypatch.setattr(fz, "read_pomdp", broken)
    monkeypatch.setattr(fz, "read_pomdpx", broken)
    tally = fz.fuzz(5, seed=None, sources=fz.load_sources(max_bytes=5_000), timeout=5.0, hard_timeout=30.0,
                    trace_memory=True, save_dir=tmp_path, derandomize=True)
    assert tally.counts["KeyError"] == 5 and not tally.ok
    assert {f["problem"] for f in tally.failures} == {"KeyError"}
    saved = sorted(p.suffix for p in tmp_path.iterdir())
    assert ".txt" in saved and len(saved) >= 2
    assert "KeyError" in next(tmp_path.glob("*.txt")).read_text()
