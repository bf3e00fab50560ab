"""mamql_torch (MLP critics) against the tabular mamql on a tiny game, on CPU."""

import numpy as np
import pytest

from theory_rl.errors import InvalidArgumentError
from theory_rl.games import MarkovGame, joint_occupancy, mamql, soft_equilibrium

torch = pytest.importorskip("torch")
from theory_rl.games import mamql_torch  # noqa: E402


def _tiny():
    rng = np.random.default_rng(0)
    game = MarkovGame(rng.dirichlet(np.ones(3), size=(3, 2, 2)), rng.uniform(-1, 1, (2, 3, 2, 2)), 0.8)
    expert = soft_equilibrium(game, temperature=1.0).policies
    return game, joint_occupancy(game, expert)


@pytest.mark.parametrize("f", ["identity", "chi2"])
def test_torch_equals_tabular(f):
    game, rho = _tiny()
    tab = mamql(game, rho, temperature=1.0, f=f)
    net = mamql_torch(game, rho, temperature=1.0, f=f, max_iter=300, seed=0, device="cpu")
    for a, b in zip(tab.policies, net.policies):
        np.testing.assert_allclose(b, a, atol=1e-5)
    if f == "chi2":  # the chi-squared critic is unique on the visited pairs, hence the rewards too
        for a, b in zip(tab.rewards, net.rewards):
            np.testing.assert_allclose(b, a, atol=1e-4)


def test_torch_is_seeded():
    game, rho = _tiny()
    a = mamql_torch(game, rho, temperature=1.0, max_iter=20, seed=3, device="cpu")
    b = mamql_torch(game, rho, temperature=1.0, max_iter=20, seed=3, device="cpu")
    c = mamql_torch(game, rho, temperature=1.0, max_iter=20, seed=4, device="cpu")
    np.testing.assert_array_equal(a.critics[0], b.critics[0])
    assert not np.array_equal(a.critics[0], c.critics[0])
    assert a.params["device"] == "cpu" and a.n_iter == 20


def test_torch_bad_options():
    game, rho = _tiny()
    for kwargs, word in [({"hidden": 0}, "hidden"), ({"lr": -1.0}, "lr"), ({"max_iter": 0}, "max_iter"),
                         ({"device": "nope"}, "device"), ({"f": "kl"}, "f must be")]:
        with pytest.raises(InvalidArgumentError, match=word):
            mamql_torch(game, rho, temperature=1.0, **kwargs)
