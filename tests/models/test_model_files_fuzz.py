"""Mutated model files: the readers return a model or raise the library's errors, nothing else.

The ``.npz`` members are mutated *inside* a well-formed zip (the CRC recomputed), so that the
mutations reach the ``.npy`` headers and data rather than stopping at the zip's checksum.
"""

import io
import json
import os
import tempfile
import zipfile

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import theory_rl
from theory_rl.errors import InvalidModelError, ParseError, SizeLimitError
from theory_rl.models import FiniteMDP, load

ALLOWED = (ParseError, InvalidModelError, SizeLimitError)


def _model(sparse):
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(3), size=(3, 2))
    mask = np.ones((3, 2), bool)
    mask[2, 1] = False
    return FiniteMDP(sp.csr_matrix(P.reshape(6, 3)) if sparse else P, rng.random((3, 2)), 0.9,
                     action_mask=mask, state_names=["a", "b", "c"], horizon=4)


def _members(sparse):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.npz")
        _model(sparse).save(path)
        with zipfile.ZipFile(path) as zf:
            return {n: zf.read(n) for n in zf.namelist()}


def _json(sparse):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.json")
        _model(sparse).save(path)
        with open(path, "rb") as fh:
            return fh.read()


NPZ = {sparse: _members(sparse) for sparse in (False, True)}
JSON = {sparse: _json(sparse) for sparse in (False, True)}

mutations = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)


def _mutate(data, edits, cut):
    buf = bytearray(data)
    for pos, value in edits:
        buf[pos % len(buf)] = value
    return bytes(buf[: max(1, len(buf) - cut)])


def _load_bytes(name, data):
    previous = theory_rl.set_max_bytes(2**24)
    try:
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, name)
            with open(path, "wb") as fh:
                fh.write(data)
            try:
                assert isinstance(load(path), FiniteMDP)
            except ALLOWED:
                pass
    finally:
        theory_rl.set_max_bytes(previous)


@settings(max_examples=150)
@given(sparse=st.booleans(), member=st.integers(0, 20), edits=mutations, cut=st.sampled_from([0, 0, 0, 1, 7, 100]))
def test_mutated_npz_members(sparse, member, edits, cut):
    members = dict(NPZ[sparse])
    name = sorted(members)[member % len(members)]
    members[name] = _mutate(members[name], edits, cut)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in members.items():
            zf.writestr(n, data)
    _load_bytes("m.npz", out.getvalue())


@settings(max_examples=150)
@given(sparse=st.booleans(), edits=mutations, cut=st.sampled_from([0, 0, 0, 1, 7, 100]))
def test_mutated_json(sparse, edits, cut):
    _load_bytes("m.json", _mutate(JSON[sparse], edits, cut))


@settings(max_examples=100)
@given(value=st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                          lambda children: st.lists(children, max_size=4)
                          | st.dictionaries(st.text(max_size=5), children, max_size=4), max_leaves=20),
       field=st.sampled_from(["P", "R", "gamma", "d0", "horizon", "action_mask", "state_names", "atol",
                              "version", "P_data", "P_indices", "P_indptr", "P_shape"]))
def test_json_fields_of_any_type(value, field):
    doc = json.loads(JSON[field.startswith("P_")])
    doc[field] = value
    _load_bytes("m.json", json.dumps(doc).encode())


@pytest.mark.parametrize("sparse", [False, True])
def test_unmutated_files_load(sparse):
    for name, data in (("m.json", JSON[sparse]),):
        _load_bytes(name, data)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for n, data in NPZ[sparse].items():
            zf.writestr(n, data)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.npz")
        with open(path, "wb") as fh:
            fh.write(out.getvalue())
        assert load(path).state_names == ("a", "b", "c")
