import pathlib
pathlib.Path(__file__).resolve().parents[1].joinpath("benchmarks.md").write_text("# Benchmarks\n\nTODO\n")
