"""The benchmarks page and the README's headline ratios are rendered from bench/results/*.json
by docs/_scripts/benchmark_tables.py, so that no published number drifts from its data."""

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("benchmark_tables", ROOT / "docs" / "_scripts" / "benchmark_tables.py")
tables = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tables)


def test_benchmarks_page_is_rendered_from_the_results():
    assert (ROOT / "docs" / "benchmarks.md").read_text() == tables.render(), (
        "docs/benchmarks.md is stale: run python docs/_scripts/benchmark_tables.py")


def test_readme_headline_ratios_equal_the_results():
    readme = (ROOT / "README.md").read_text()
    expected = tables.headline_table()
    assert expected in readme, f"README.md must hold the headline table rendered from the data:\n{expected}"


@pytest.mark.parametrize("what, value, source", tables.HEADLINES, ids=[h[0] for h in tables.HEADLINES])
def test_each_headline_is_a_number_of_its_file(what, value, source):
    assert (ROOT / "bench" / "results" / source).exists()
    float(value())


def test_every_rendered_results_file_names_its_date_and_command():
    page = tables.render()
    used = sorted({line.split("`")[1] for line in page.splitlines() if line.startswith("Data: `")})
    assert len(used) >= 10
    for path in used:
        data = json.loads((ROOT / path).read_text())
        assert data.get("date") and data.get("command"), f"{path} lacks its date or command"
        assert f"recorded {data['date']}" in page


def test_a_changed_number_changes_the_page(monkeypatch):
    original = tables.load

    def edited(name):
        data = original(name)
        if name == "pomdp":
            data["pomcp"]["speedup"] = 12345.0
        return data

    monkeypatch.setattr(tables, "load", edited)
    assert "12345" in tables.render() and "12345" in tables.headline_table()
