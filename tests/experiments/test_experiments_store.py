"""The store lock (two sweeps on one store never run a task twice) and ``repair_store``."""

from __future__ import annotations

import json
import multiprocessing
import sys
import textwrap

import pytest

from theory_rl.errors import InvalidArgumentError, ParseError
from theory_rl.experiments import ResultStore, StoreLock, StoreLockedError, Sweep, load_results, repair_store

TASKS = textwrap.dedent("""
    import os
    import time

    def tiny_task(*, k, log, seed):
        fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        os.write(fd, f"{k} {os.getpid()}\\n".encode())
        os.close(fd)
        time.sleep(0.05)
        return {"k2": k * k}
""")


def _run_sweep(store, log, wait, barrier, queue):  # module level: the spawned process imports it
    from lock_tasks import tiny_task

    sweep = Sweep(tiny_task, {"k": list(range(20)), "log": [log]}, 1, store=store, backend="serial",
                  progress=False, chunk_size=1, wait=wait)
    barrier.wait()  # both processes have imported everything: start the sweeps together
    try:
        queue.put(("ok", len(sweep.run())))
    except StoreLockedError as exc:
        queue.put(("locked", str(exc)))


def _two_sweeps(tmp_path, wait):
    (tmp_path / "lock_tasks.py").write_text(TASKS)
    store, log = tmp_path / "store.jsonl", tmp_path / "calls.log"
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(2), ctx.Queue()
    sys.path.insert(0, str(tmp_path))  # a spawned child starts with the parent's sys.path
    try:
        procs = [ctx.Process(target=_run_sweep, args=(str(store), str(log), wait, barrier, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        outcomes = sorted(queue.get(timeout=120) for _ in procs)
        for p in procs:
            p.join(timeout=60)
    finally:
        sys.path.remove(str(tmp_path))
    calls = log.read_text().split("\n")[:-1]
    records = [json.loads(line) for line in store.read_text().splitlines()]
    return outcomes, calls, records


def test_two_sweeps_on_one_store_waiting_run_every_task_once(tmp_path):
    outcomes, calls, records = _two_sweeps(tmp_path, wait=120)
    assert outcomes == [("ok", 20), ("ok", 20)]  # both return the whole table
    assert len(calls) == 20 and sorted(int(c.split()[0]) for c in calls) == list(range(20))
    assert len({c.split()[1] for c in calls}) == 1  # one process ran them all; the other found them done
    assert len(records) == 20 and len({r["task"] for r in records}) == 20


def test_a_second_sweep_on_a_locked_store_fails_at_once_naming_the_holder(tmp_path):
    outcomes, calls, records = _two_sweeps(tmp_path, wait=0)
    assert [o[0] for o in outcomes] == ["locked", "ok"]
    assert "being written by another sweep (pid" in outcomes[0][1]
    assert len(calls) == 20 and len(records) == 20


def test_lock_in_one_process_times_out_then_is_released(tmp_path):
    store = tmp_path / "s.jsonl"
    with StoreLock(store) as held:
        assert str(__import__("os").getpid()) in held.lock_path.read_text()
        with pytest.raises(StoreLockedError, match="after waiting 0.2 s"):
            with StoreLock(store, wait=0.2):
                pass
    with StoreLock(store, wait=0):
        pass
    assert held.lock_path.read_text() == ""  # released: nothing claims it
    with pytest.raises(InvalidArgumentError, match="wait"):
        StoreLock(store, wait=-1)


def _write(path, text):
    path.write_bytes(text if isinstance(text, bytes) else text.encode())


def test_repair_drops_the_corrupted_lines_naming_them_and_keeps_a_backup(tmp_path):
    store = tmp_path / "s.jsonl"
    good = [json.dumps({"task": f"t{i}", "result": {"x": i}}) for i in range(4)]
    original = (f"{good[0]}\n{{broken\n{good[1]}\n\n[1, 2]\n".encode() + b"\xff\xfe\n" + f"{good[2]}\n{good[3]}\n".encode()
                + b'{"task": "t9", "res')
    _write(store, original)
    with pytest.raises(ParseError, match="line 2 is not valid JSON.*--repair"):
        load_results(store)
    dry = repair_store(store, dry_run=True)
    assert dry.dropped == (2, 5, 6, 9) and dry.backup is None and store.read_bytes() == original
    report = repair_store(store)
    assert report.dropped == (2, 5, 6, 9) and report.kept == 4
    assert [r.split(" (")[0] for r in report.reasons] == ["not valid JSON", "no 'task' key", "not UTF-8",
                                                          "unterminated last line"]
    assert report.backup == tmp_path / "s.jsonl.bak" and report.backup.read_bytes() == original
    assert store.read_text() == "".join(g + "\n" for g in good)
    assert [r["task"] for r in ResultStore(store).records()] == ["t0", "t1", "t2", "t3"]
    again = repair_store(store)
    assert again.dropped == () and again.backup is None
    _write(store, "{x\n")
    assert repair_store(store).backup == tmp_path / "s.jsonl.bak.1"  # an earlier backup is never overwritten


def test_repair_refuses_a_missing_store_and_a_locked_one(tmp_path):
    with pytest.raises(InvalidArgumentError, match="does not exist"):
        repair_store(tmp_path / "none.jsonl")
    store = tmp_path / "s.jsonl"
    _write(store, "{x\n")
    with StoreLock(store), pytest.raises(StoreLockedError):
        repair_store(store)
    assert store.read_text() == "{x\n"


def _task(*, a, seed):
    return {"a": a}


@pytest.mark.parametrize("kwargs, message", [
    ({"seeds": 2.5}, "seeds"),
    ({"seeds": [1.5]}, "seeds"),
    ({"seeds": "3"}, "seeds"),
    ({"chunk_size": -1}, "chunk_size"),
    ({"chunk_size": 2.5}, "chunk_size"),
    ({"seed": 2.5}, "seed"),
    ({"seed": -1}, "seed"),
    ({"progress": "no"}, "progress"),
    ({"wait": -1}, "wait"),
    ({"threads_per_task": 0}, "threads_per_task"),
    ({"scheduler": 5}, "scheduler"),
    ({"grid": {"b": [1]}}, "grid key 'b' is not an argument of _task"),
    ({"grid": {"a": [1], "b": [1]}}, "grid key 'b'"),
    ({"grid": {}}, "needs 'a'"),
])
def test_sweep_options_are_checked_naming_them(kwargs, message):
    options = {"grid": {"a": [1]}, "seeds": 1, **kwargs}
    grid, seeds = options.pop("grid"), options.pop("seeds")
    with pytest.raises(InvalidArgumentError, match=message):
        Sweep(_task, grid, seeds, backend="serial", **options)


def test_functions_with_var_keywords_accept_any_grid():
    def flexible(*, seed, **params):
        return params

    assert len(Sweep(flexible, {"x": [1, 2]}, 1, backend="serial", progress=False).run()) == 2
