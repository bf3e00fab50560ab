"""One entry point for every exact tabular solver, by name (QuantEcon's ``DiscreteDP.solve``)."""

from __future__ import annotations

import inspect
from typing import Any

from .._validation import check_choice
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._average_reward import relative_value_iteration
from ._bellman import greedy_policy
from ._finite_horizon import backward_induction
from ._linear_programming import linear_programming
from ._policy_iteration import modified_policy_iteration, policy_iteration
from ._solution import Solution
from ._value_iteration import value_iteration

__all__ = ["solve", "SOLVERS"]

SOLVERS = {
    "value_iteration": value_iteration,
    "policy_iteration": policy_iteration,
    "modified_policy_iteration": modified_policy_iteration,
    "linear_programming": linear_programming,
    "backward_induction": backward_induction,
    "relative_value_iteration": relative_value_iteration,
}
"""The solvers :func:`solve` dispatches to, by name."""

_ABBREVIATIONS = {"vi": "value_iteration", "pi": "policy_iteration", "mpi": "modified_policy_iteration",
                  "lp": "linear_programming", "bi": "backward_induction", "rvi": "relative_value_iteration"}

# QuantEcon's DiscreteDP.solve keywords and ours (same meaning: QuantEcon's epsilon is the
# optimality of the returned policy, with v within epsilon/2, exactly what our tol certifies).
_QUANTECON_KEYWORDS = {"epsilon": "tol", "k": "n_eval"}


def solve(mdp: FiniteMDP, *, method: str | None = None, **options: Any) -> Solution:
    r"""Solve ``mdp`` with the exact solver named by ``method``.

    ``method`` is a solver's name or QuantEcon's abbreviation:

    ================================  =========  ===================================================
    method                            alias      solver
    ================================  =========  ===================================================
    ``"policy_iteration"``            ``"pi"``   :func:`policy_iteration` (default, discounted)
    ``"value_iteration"``             ``"vi"``   :func:`value_iteration`
    ``"modified_policy_iteration"``   ``"mpi"``  :func:`modified_policy_iteration`
    ``"linear_programming"``          ``"lp"``   :func:`linear_programming`
    ``"backward_induction"``          ``"bi"``   :func:`backward_induction` (default with a ``horizon``)
    ``"relative_value_iteration"``    ``"rvi"``  :func:`relative_value_iteration` (average reward)
    ================================  =========  ===================================================

    ``options`` go to the solver unchanged, so every guarantee is that solver's. QuantEcon's
    keywords are read as ours where the meaning is the same: ``epsilon`` as ``tol`` (both make
    the returned policy ``epsilon``-optimal and ``v`` ``epsilon/2``-accurate) and ``k`` as
    ``n_eval``; QuantEcon's ``v_init`` seeds value and modified policy iteration as ``v0``, and
    policy iteration with its greedy policy as ``policy0``, and is ignored (as QuantEcon ignores
    it) by the methods without a starting point. The result's ``params`` record our names.

    Parameters
    ----------
    mdp : FiniteMDP
    method : str, optional
        Default: ``"backward_induction"`` for a model with a ``horizon``, else ``"policy_iteration"``.
    **options
        Keyword options of the chosen solver.

    Returns
    -------
    Solution
        The chosen solver's result.

    Raises
    ------
    InvalidArgumentError
        An unknown method, or an option the chosen solver does not take (named).

    Examples
    --------
    >>> from theory_rl import envs, tabular
    >>> mdp = envs.forest(3, gamma=0.9)
    >>> a = tabular.solve(mdp, method="vi", epsilon=1e-8)
    >>> b = tabular.solve(mdp, method="pi")
    >>> bool(abs(a.v - b.v).max() < 1e-8), a.policy.tolist() == b.policy.tolist()
    (True, True)
    """
    if method is None:
        method = "backward_induction" if mdp.horizon is not None else "policy_iteration"
    name = _ABBREVIATIONS.get(method, method) if isinstance(method, str) else method
    check_choice(name, "method", [*SOLVERS, *_ABBREVIATIONS])
    solver = SOLVERS[name]
    for theirs, ours in _QUANTECON_KEYWORDS.items():
        if theirs in options:
            if ours in options:
                raise InvalidArgumentError(f"give {ours} or QuantEcon's {theirs}, not both")
            options[ours] = options.pop(theirs)
    if "v_init" in options:
        v_init = options.pop("v_init")
        if name == "policy_iteration":
            options["policy0"] = greedy_policy(mdp, v_init)
        elif "v0" in inspect.signature(solver).parameters:
            options["v0"] = v_init
        # else: the method has no starting point (LP, backward induction); QuantEcon ignores it too
    accepted = inspect.signature(solver).parameters
    unknown = [k for k in options if k not in accepted]
    if unknown:
        takes = ", ".join(p for p in accepted if p != "mdp")
        raise InvalidArgumentError(f"{name} does not take {', '.join(map(repr, unknown))} (it takes: {takes})")
    return solver(mdp, **options)
