"""Hypothesis fuzz of the POMDP file parsers (:func:`theory_rl.pomdp.read_pomdp` and
:func:`theory_rl.pomdp.read_pomdpx`): only :class:`~theory_rl.errors.ParseError` or a model may
come out, fast, without allocating past the memory limit.

    .venv/bin/python bench/fuzz_parsers.py                  # 10,000 mutations (a few minutes)
    .venv/bin/python bench/fuzz_parsers.py --n 500 --seed 1 # a short run

(From a git worktree other than the one the package is installed from, put the worktree first:
``PYTHONPATH=. .venv/bin/python bench/fuzz_parsers.py``; the run prints which ``theory_rl`` it tests.)

Each example is one of the 15 classic files shipped in ``theory_rl/pomdp/problems/``
or a generated factored POMDPX document, mutated one to three times: byte flips (also invalid
UTF-8), token deletion and duplication, number replacement (huge, negative, NaN/inf, over-long,
Unicode digits such as ``²`` or ``٣``), truncation, header size inflation (``states: 200000``,
``<NumValues>1000000``, extra 1000-valued observation variables), and hostile statements or XML
fragments (``T: * : * : * 0``, ``R: * : * : * : * 1``, entity bombs, deep nesting). The four files
above 100 kB are drawn less often (weight 1 against 12 for each other source) to keep the run short.

Every parse runs in this process with ``theory_rl.set_max_bytes(256 MiB)``; its CPU time
(``time.process_time``) is measured and must stay under ``--timeout`` (1 s), with a hard stop
(SIGPROF) at ``--hard-timeout``. The address space is capped 1 GiB above the interpreter's, so an
allocation far past the limit is a ``MemoryError`` (a finding). With ``--trace-memory`` each
parse's peak allocation is also traced (``tracemalloc``, which numpy reports to) and must stay
under the limit; tracing slows token-heavy parses about threefold, so it is off by default.

Prints a summary (mutations, ParseErrors, successes, other exceptions by type, limits passed,
the slowest parse) and writes ``bench/results/fuzz_parsers.json``; each failing input is saved
with its traceback under ``bench/results/fuzz_failures/``.
"""

from __future__ import annotations

import os

if __name__ == "__main__":  # one thread when run as the bench; never when a test imports this module
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import tracemalloc  # noqa: E402
import warnings  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import seed as hypothesis_seed  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import theory_rl  # noqa: E402
from theory_rl.errors import ParseError  # noqa: E402
from theory_rl.pomdp import PROBLEM_DIR, read_pomdp, read_pomdpx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA_DIRS = (PROBLEM_DIR,)
RESULTS = ROOT / "bench" / "results"
FAILURES = RESULTS / "fuzz_failures"
LIMIT = 256 * 2**20
GENERATED = "<generated POMDPX>"

_NUMERIC = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")
NUMBERS = [
    "0", "1", "2", "-1", "-0.5", "-1e308", "1e308", "1e-320", "2000", "200000", "200001", "1000000",
    str(10**30), "9" * 5000, "0." + "1" * 5000, "nan", "NaN", "inf", "-inf", "1e999", "\u00b2", "\u0663",
    "\u0661.\u0665", "\uff11", "0x10", "1_000", ".", "+.", "1e", "0.5.5", "", "1" * 120,
]
HOSTILE_POMDP = [
    "T: * : * : * 0", "T: * : * : * 0.5", "T: * uniform", "T: * identity", "O: * uniform", "O: * : * : * 1",
    "R: * : * : * : * 1", "R: * : * : 0 : * 1", "R: * : * : * : 0 1", "R: * : *", "T: * : * : 0 1",
    "T: * : 0 uniform", "start: uniform", "start include: 0", "start exclude: *", "states: 3",
    "discount: 2", "values: cost", "T: 0 : 0 : 0 " + "1" * 5000, "T: " + "x" * 10000 + " : 0 : 0 1",
    "actions: " + " ".join(f"a{k}" for k in range(2000)),
]
HOSTILE_XML = [
    "<ObsVar vname='zz1'><NumValues>1000</NumValues></ObsVar>",
    "<StateVar vnamePrev='p9' vnameCurr='c9'><NumValues>1000000</NumValues></StateVar>",
    "<RewardVar vname='rr'/>", "<ActionVar vname='a2'><NumValues>3</NumValues></ActionVar>",
    "<Entry><Instance>* * *</Instance><ProbTable>uniform</ProbTable></Entry>",
    "<Entry><Instance>- - -</Instance><ProbTable>identity</ProbTable></Entry>",
    "<Entry><Instance>\u00b2 - -</Instance><ProbTable>1</ProbTable></Entry>",
    "<Parameter type='DD'/>", "<Func><Var>rr</Var><Parent>rr</Parent></Func>", "&a9;", "&x;", "<![CDATA[<<>>]]>",
    "<a>" * 5000 + "</a>" * 5000, "<a>" * 100000, "<?pi x?>", "<!-- -- -->", "\x00", "\ufeff",
]
BOMB = "<!DOCTYPE pomdpx [<!ENTITY a0 'lol'>" + "".join(
    f"<!ENTITY a{k} '{('&a' + str(k - 1) + ';') * 10}'>" for k in range(1, 10)) + "<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
FLIP_CHARS = ["\x00", "\xff", "<", ">", "&", ":", "#", "*", "-", "\n", " ", "9", "\u00b2", "\u0663", "\u2028",
              "\x85", "\x0c", "\ufeff", "\udcff"]
OPS = ["flip", "delete", "duplicate", "number", "number", "truncate", "inflate", "insert"]


# --------------------------------------------------------------------------- sources
@dataclass(frozen=True)
class Source:
    name: str
    xml: bool
    text: str
    parts: tuple[str, ...]  # whitespace (and, for XML, '<' '>') kept as separate parts
    numeric: tuple[int, ...]  # indices of numeric parts


def _split(text: str, xml: bool) -> tuple[tuple[str, ...], tuple[int, ...]]:
    parts = tuple(re.split(r"(\s+|<|>)" if xml else r"(\s+|:)", text))
    return parts, tuple(i for i, p in enumerate(parts) if _NUMERIC.match(p))


def load_sources(max_bytes: int | None = None) -> list[Source]:
    """The classic files (first copy of each name), optionally only those up to ``max_bytes``."""
    seen: dict[str, Source] = {}
    for d in DATA_DIRS:
        for path in sorted(d.glob("*")) if d.is_dir() else ():
            if path.suffix.lower() not in (".pomdp", ".pomdpx") or path.name in seen:
                continue
            if max_bytes is not None and path.stat().st_size > max_bytes:
                continue
            text = path.read_text(encoding="latin-1")
            xml = path.suffix.lower() == ".pomdpx"
            seen[path.name] = Source(path.name, xml, text, *_split(text, xml))
    return list(seen.values())


# --------------------------------------------------------------------------- generated POMDPX
@st.composite
def _row(draw: Any, n: int) -> list[str]:
    w = draw(st.lists(st.integers(0, 4), min_size=n, max_size=n))
    if sum(w) == 0:
        w[draw(st.integers(0, n - 1))] = 1
    return [repr(x / sum(w)) for x in w]


@st.composite
def pomdpx_documents(draw: Any) -> str:
    """A small factored POMDPX document (mostly valid): 1-3 state variables, 1-2 observation
    variables, 1-3 actions, per-variable CPTs in the ``-``/``*``/identity/uniform/numbers forms."""
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    osizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2))
    A = draw(st.integers(1, 3))
    enum = draw(st.booleans())

    def values(n: int, prefix: str) -> str:
        return (f"<ValueEnum>{' '.join(f'{prefix}{i}' for i in range(n))}</ValueEnum>" if enum
                else f"<NumValues>{n}</NumValues>")

    out = ["<?xml version='1.0'?>", "<pomdpx version='1.0'>", f"<Discount>{draw(st.sampled_from(['0.95', '0.5', '1', '0']))}</Discount>",
           "<Variable>"]
    out += [f"<StateVar vnamePrev='x{k}' vnameCurr='y{k}'>{values(n, 's')}</StateVar>" for k, n in enumerate(sizes)]
    out += [f"<ObsVar vname='o{k}'>{values(n, 'o')}</ObsVar>" for k, n in enumerate(osizes)]
    out += [f"<ActionVar vname='act'>{values(A, 'a')}</ActionVar>", "<RewardVar vname='rew'/>", "</Variable>"]

    def cpt(var: str, parent: str, entries: list[tuple[str, str]]) -> str:
        body = "".join(f"<Entry><Instance>{i}</Instance><ProbTable>{t}</ProbTable></Entry>" for i, t in entries)
        return f"<CondProb><Var>{var}</Var><Parent>{parent}</Parent><Parameter type='TBL'>{body}</Parameter></CondProb>"

    out.append("<InitialStateBelief>")
    for k, n in enumerate(sizes):
        if draw(st.booleans()):
            out.append(cpt(f"x{k}", "null", [("-", draw(st.sampled_from(["uniform", " ".join(draw(_row(n)))])))]))
    out.append("</InitialStateBelief><StateTransitionFunction>")
    for k, n in enumerate(sizes):
        form = draw(st.sampled_from(["identity", "uniform", "numbers", "per-action"]))
        if form in ("identity", "uniform"):
            entries = [("* - -", form)]
        elif form == "numbers":
            entries = [("* - -", " ".join(x for _ in range(n) for x in draw(_row(n))))]
        else:
            entries = [(f"{a if not enum else f'a{a}'} - -", " ".join(x for _ in range(n) for x in draw(_row(n))))
                       for a in range(A)]
        out.append(cpt(f"y{k}", f"act x{k}", entries))
    out.append("</StateTransitionFunction><ObsFunction>")
    for k, n in enumerate(osizes):
        m = sizes[0]
        out.append(cpt(f"o{k}", "act y0", [("* - -", " ".join(x for _ in range(m) for x in draw(_row(n))))]))
    out.append("</ObsFunction><RewardFunction>")
    r = " ".join(str(draw(st.integers(-10, 10))) for _ in range(sizes[0]))
    out.append(f"<Func><Var>rew</Var><Parent>act x0</Parent><Parameter type='TBL'><Entry><Instance>* -</Instance>"
               f"<ValueTable>{r}</ValueTable></Entry></Parameter></Func>")
    out.append("</RewardFunction></pomdpx>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- mutations
@dataclass(frozen=True)
class Case:
    source: str
    xml: bool
    ops: tuple[str, ...]
    data: bytes


def _inflate(draw: Any, text: str, xml: bool) -> tuple[str, str]:
    big = draw(st.sampled_from([2000, 5000, 20000, 200000, 200001, 10**6, 10**30]))
    if xml:
        if draw(st.booleans()):
            extra = "".join(f"<ObsVar vname='zz{k}'><NumValues>1000</NumValues></ObsVar>" for k in range(draw(st.integers(1, 3))))
            return text.replace("</Variable>", extra + "</Variable>", 1), "extra 1000-valued ObsVars"
        hits = [m.span() for m in re.finditer(r"<(NumValues|ValueEnum)>[^<]*</\1>", text)]
        if not hits:
            return text, "inflate: nothing"
        i, j = hits[draw(st.integers(0, len(hits) - 1))]
        return text[:i] + f"<NumValues>{big}</NumValues>" + text[j:], f"NumValues {big}"
    hits = [m for m in re.finditer(r"(?m)^[ \t]*(states|actions|observations)[ \t]*:[^\n]*", text)]
    if not hits:
        return text, "inflate: nothing"
    m = hits[draw(st.integers(0, len(hits) - 1))]
    return text[:m.start()] + f"{m.group(1)}: {big}" + text[m.end():], f"{m.group(1)}: {big}"


@st.composite
def cases(draw: Any, sources: list[Source], big_weight: int = 1, small_weight: int = 12) -> Case:
    """One mutated document: a source (weighted), then 1-3 mutations."""
    weighted: list[Source | None] = [None] * small_weight  # None: a generated POMDPX document
    for s in sources:
        weighted += [s] * (big_weight if len(s.text) > 100_000 else small_weight)
    src = draw(st.sampled_from(weighted))
    if src is None:
        text = draw(pomdpx_documents())
        src = Source(GENERATED, True, text, *_split(text, True))
    ops = sorted(draw(st.lists(st.sampled_from(OPS), min_size=1, max_size=3)), key=OPS.index)
    parts = list(src.parts)
    log = []
    for op in ops:  # token-level first (on the cached split), then text-level, then bytes
        if op in ("delete", "duplicate"):
            i = draw(st.integers(0, len(parts) - 1))
            parts[i] = "" if op == "delete" else parts[i] + " " + parts[i]
            log.append(f"{op} part {i}")
        elif op == "number" and src.numeric:
            i = src.numeric[draw(st.integers(0, len(src.numeric) - 1))]
            parts[i] = draw(st.sampled_from(NUMBERS))
            log.append(f"number part {i} -> {parts[i][:20]!r}")
    text = "".join(parts)
    for op in ops:
        if op == "inflate":
            text, what = _inflate(draw, text, src.xml)
            log.append(what)
        elif op == "insert":
            if src.xml:
                frag = draw(st.sampled_from(HOSTILE_XML + [BOMB]))
                if frag == BOMB:
                    text = re.sub(r"^<\?xml[^>]*\?>", "", text.lstrip("\ufeff \n"))
                    text = "<?xml version='1.0'?>" + BOMB + text.replace("<Description>", "<Description>&a9;", 1)
                else:
                    spots = [m.start() for m in re.finditer("<", text)] or [0]
                    i = spots[draw(st.integers(0, len(spots) - 1))]
                    text = text[:i] + frag + text[i:]
            else:
                frag = draw(st.sampled_from(HOSTILE_POMDP))
                lines = text.split("\n")
                i = draw(st.integers(0, len(lines)))
                text = "\n".join(lines[:i] + [frag] + lines[i:])
            log.append(f"insert {frag[:40]!r}")
        elif op == "truncate":
            i = draw(st.integers(0, len(text)))
            text = text[:i]
            log.append(f"truncate at {i}")
    data = text.encode("utf-8", "surrogatepass")
    if "flip" in ops and data:
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            ch = draw(st.sampled_from(FLIP_CHARS)).encode("utf-8", "surrogatepass")
            data = data[:i] + ch + data[i + 1:]
            log.append(f"flip byte {i} -> {ch!r}")
    return Case(src.name, src.xml, tuple(log), data)


# --------------------------------------------------------------------------- running one parse
class _HardTimeout(BaseException):
    """Raised by SIGPROF inside a parse that ran past the hard CPU-time limit."""


def _on_sigprof(signum: int, frame: Any) -> None:
    raise _HardTimeout()


@dataclass
class Outcome:
    kind: str  # "ok", "ParseError", "Timeout" or an exception type name
    cpu_s: float
    wall_s: float
    peak_bytes: int
    detail: str = ""


def parse_case(case: Case, workdir: Path, *, hard_timeout: float = 20.0, trace_memory: bool = True) -> Outcome:
    """Write ``case`` to a file in ``workdir``, read it, classify what came out."""
    path = workdir / ("fuzz.pomdpx" if case.xml else "fuzz.POMDP")
    path.write_bytes(case.data)
    reader = read_pomdpx if case.xml else read_pomdp
    if trace_memory:
        tracemalloc.reset_peak()
        start = tracemalloc.get_traced_memory()[0]
    previous = signal.signal(signal.SIGPROF, _on_sigprof)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    detail = ""
    signal.setitimer(signal.ITIMER_PROF, hard_timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader(path)
        kind = "ok"
    except ParseError:
        kind = "ParseError"
    except _HardTimeout:
        kind = "Timeout"
    except Exception as exc:  # anything else is a finding
        kind = type(exc).__name__
        detail = traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    peak = tracemalloc.get_traced_memory()[1] - start if trace_memory else 0
    return Outcome(kind, cpu, wall, peak, detail)


@dataclass
class Tally:
    timeout: float
    limit: int
    counts: Counter = field(default_factory=Counter)
    sources: Counter = field(default_factory=Counter)
    slow: int = 0
    over_memory: int = 0
    slowest: dict[str, Any] = field(default_factory=dict)
    peak: dict[str, Any] = field(default_factory=dict)
    saved: Counter = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)

    def add(self, case: Case, out: Outcome, save_dir: Path | None) -> None:
        self.counts[out.kind] += 1
        self.sources[case.source] += 1
        info = {"source": case.source, "mutations": list(case.ops), "kind": out.kind,
                "cpu_s": round(out.cpu_s, 4), "wall_s": round(out.wall_s, 4), "peak_bytes": out.peak_bytes}
        if not self.slowest or out.cpu_s > self.slowest["cpu_s"]:
            self.slowest = info
        if not self.peak or out.peak_bytes > self.peak["peak_bytes"]:
            self.peak = info
        problems = []
        if out.kind not in ("ok", "ParseError"):
            problems.append(out.kind)
        if out.cpu_s > self.timeout:
            self.slow += 1
            problems.append("slow")
        if out.peak_bytes > self.limit:
            self.over_memory += 1
            problems.append("memory")
        for problem in problems:
            self.failures.append({**info, "problem": problem})
            if save_dir is not None and self.saved[problem] < 20:
                self.saved[problem] += 1
                save_dir.mkdir(parents=True, exist_ok=True)
                stem = f"{problem}-{hashlib.sha1(case.data).hexdigest()[:12]}"
                (save_dir / (stem + (".pomdpx" if case.xml else ".POMDP"))).write_bytes(case.data)
                (save_dir / (stem + ".txt")).write_text(json.dumps(info, indent=1) + "\n" + out.detail)

    @property
    def ok(self) -> bool:
        return not self.failures


def fuzz(n: int, *, seed: int | None, sources: list[Source], timeout: float, hard_timeout: float,
         trace_memory: bool, save_dir: Path | None, derandomize: bool = False,
         progress: Any = None) -> Tally:
    """Run ``n`` mutations through hypothesis, each parsed under ``theory_rl.set_max_bytes(LIMIT)``;
    ``progress(tally)`` is called every 500 mutations."""
    tally = Tally(timeout=timeout, limit=LIMIT)
    workdir = Path(tempfile.mkdtemp(prefix="fuzz_parsers_"))
    previous = theory_rl.set_max_bytes(LIMIT)
    if trace_memory:
        tracemalloc.start()

    @settings(max_examples=n, deadline=None, database=None, derandomize=derandomize, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(cases(sources))
    def one(case: Case) -> None:
        tally.add(case, parse_case(case, workdir, hard_timeout=hard_timeout, trace_memory=trace_memory), save_dir)
        if progress is not None and sum(tally.counts.values()) % 500 == 0:
            progress(tally)

    try:
        (hypothesis_seed(seed)(one) if seed is not None and not derandomize else one)()
    finally:
        theory_rl.set_max_bytes(previous)
        if trace_memory:
            tracemalloc.stop()
        for p in workdir.iterdir():
            p.unlink()
        workdir.rmdir()
    return tally


def _cap_address_space(headroom: int = 2**30) -> int | None:
    """Cap this process's address space at its current size plus ``headroom`` (Linux)."""
    try:
        import resource

        with open("/proc/self/status") as fh:
            vm = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (vm + headroom, resource.getrlimit(resource.RLIMIT_AS)[1]))
        return vm + headroom
    except (OSError, ValueError, StopIteration, ImportError):
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=10_000, help="number of mutations (default 10,000)")
    ap.add_argument("--seed", type=int, default=0, help="hypothesis seed (default 0)")
    ap.add_argument("--timeout", type=float, default=1.0, help="CPU seconds a parse may take (default 1)")
    ap.add_argument("--hard-timeout", type=float, default=20.0, help="CPU seconds after which a parse is stopped")
    ap.add_argument("--trace-memory", action="store_true", help="trace each parse's peak allocation (slower)")
    ap.add_argument("--out", type=Path, default=RESULTS / "fuzz_parsers.json")
    args = ap.parse_args()
    sources = load_sources()
    cap = _cap_address_space()
    print(f"theory_rl from {Path(theory_rl.__file__).parent}")
    print(f"fuzzing read_pomdp/read_pomdpx: {args.n} mutations of {len(sources)} files + generated POMDPX, "
          f"seed {args.seed}, memory limit {LIMIT // 2**20} MiB, time limit {args.timeout} CPU-s")
    t0, c0 = time.perf_counter(), time.process_time()

    def record(tally: Tally, final: bool) -> dict[str, Any]:
        others = {k: v for k, v in tally.counts.items() if k not in ("ok", "ParseError")}
        out = {
            "complete": final, "mutations": sum(tally.counts.values()), "requested": args.n, "seed": args.seed,
            "memory_limit_bytes": LIMIT, "time_limit_cpu_s": args.timeout, "address_space_cap_bytes": cap,
            "counts": dict(tally.counts), "other_exceptions": others, "over_time_limit": tally.slow,
            "over_memory_limit": tally.over_memory, "slowest": tally.slowest, "largest_peak": tally.peak,
            "by_source": dict(tally.sources), "failures": tally.failures[:100],
            "elapsed_wall_s": round(time.perf_counter() - t0, 1), "elapsed_cpu_s": round(time.process_time() - c0, 1),
            "memory_traced": args.trace_memory, "theory_rl": str(Path(theory_rl.__file__).parent),
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(out, indent=1) + "\n")
        return out

    def progress(tally: Tally) -> None:
        rec = record(tally, final=False)
        print(f"  {rec['mutations']} mutations, {rec['elapsed_wall_s']:.0f} s wall, {rec['elapsed_cpu_s']:.0f} CPU-s, "
              f"{rec['counts']}, over time {tally.slow}", flush=True)

    tally = fuzz(args.n, seed=args.seed, sources=sources, timeout=args.timeout, hard_timeout=args.hard_timeout,
                 trace_memory=args.trace_memory, save_dir=FAILURES, progress=progress)
    rec = record(tally, final=True)
    print(f"\nmutations:          {rec['mutations']}")
    print(f"ParseError:         {tally.counts['ParseError']}")
    print(f"successful parses:  {tally.counts['ok']}")
    print(f"other exceptions:   {rec['other_exceptions'] or 'none'}")
    print(f"over {args.timeout} CPU-s:     {tally.slow}")
    print(f"peak over {LIMIT // 2**20} MiB:  {tally.over_memory if args.trace_memory else 'not traced'}")
    s = tally.slowest
    print(f"slowest parse:      {s['cpu_s']:.3f} CPU-s ({s['wall_s']:.3f} s wall), {s['source']}, {s['mutations']} -> {s['kind']}")
    p = tally.peak
    if p.get("peak_bytes"):
        print(f"largest peak:       {p['peak_bytes'] / 2**20:.1f} MiB, {p['source']}, {p['mutations']} -> {p['kind']}")
    print(f"elapsed:            {rec['elapsed_wall_s']:.0f} s wall, {rec['elapsed_cpu_s']:.0f} CPU-s")
    if tally.failures:
        print(f"reproducers in {FAILURES.relative_to(ROOT)}/")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
