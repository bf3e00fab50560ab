"""``envs.make("name:key=value,...")``: every example environment from one string.

The command line (``theory-rl solve MODEL``) and the sweep tasks
(:mod:`theory_rl.experiments.tasks`) build their models through :func:`make`, so a spec that
works in one works in the other.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgumentError, TheoryRLError

__all__ = ["make", "registered"]

_INT = re.compile(r"[+-]?\d+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_MAX_SPEC = 10_000  # characters; a spec is typed by a person or written in a sweep file
_MAX_DIGITS = 4_000  # below Python's int-parsing limit, so the error is ours


def _generators() -> dict[str, Callable[..., Any]]:
    from . import _pomdp_classics
    from ._classic import chain, forest, river_swim
    from ._gridworld import cliff_walking, gridworld, sutton_barto_gridworld
    from ._gymnasium import from_gymnasium
    from ._lower_bound import hard_instance
    from ._pan_flute import pan_flute
    from ._pomdp_classics import __all__ as classics
    from ._random import garnet, random_mdp
    from ._random_walk import random_walk
    from ._windy_walk import windy_walk

    return {
        "chain": chain,
        "cliff_walking": cliff_walking,
        "forest": forest,
        "garnet": garnet,
        "gridworld": gridworld,
        "gymnasium": from_gymnasium,
        "hard": hard_instance,
        "hard_instance": hard_instance,
        "pan_flute": pan_flute,
        "random_mdp": random_mdp,
        "random_walk": random_walk,
        "river_swim": river_swim,
        "sutton_barto_gridworld": sutton_barto_gridworld,
        "windy_walk": windy_walk,
        **{name: getattr(_pomdp_classics, name) for name in classics},
    }


def registered() -> tuple[str, ...]:
    """The names :func:`make` accepts, sorted.

    Examples
    --------
    >>> from theory_rl import envs
    >>> "river_swim" in envs.registered()
    True
    """
    return tuple(sorted(_generators()))


def _show(spec: str) -> str:
    """The spec as the error messages quote it (shortened: a spec can be long)."""
    return repr(spec) if len(spec) <= 80 else repr(spec[:60] + "...") + f" ({len(spec)} characters)"


def _parse_value(spec: str, key: str, text: str) -> Any:
    if _INT.fullmatch(text):
        if len(text.lstrip("+-")) > _MAX_DIGITS:
            raise InvalidArgumentError(f"model spec {_show(spec)}: {key} has more than {_MAX_DIGITS} digits")
        return int(text)
    try:
        return float(text)
    except ValueError:
        pass
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    return text


_TYPES: dict[str, tuple[type, ...]] = {
    "int": (int,),
    "float": (int, float),
    "bool": (bool,),
    "None": (type(None),),
    "str": (str,),
}


def _check_type(spec: str, name: str, key: str, annotation: Any, value: Any) -> None:
    """Refuse a value whose type the generator's annotation rules out (``n_states=abc``)."""
    if not isinstance(annotation, str):
        return
    allowed: list[type] = []
    for token in (t.strip() for t in annotation.split("|")):
        if token not in _TYPES:
            return  # a type a spec string cannot express (arrays, tuples, Generators): let the generator judge
        allowed.extend(_TYPES[token])
    if isinstance(value, bool) and bool not in allowed:
        ok = False
    else:
        ok = isinstance(value, tuple(allowed))
    if not ok:
        raise InvalidArgumentError(f"model spec {_show(spec)}: {name} takes {key} of type {annotation}, got {value!r}")


def make(spec: str, *, gamma: float | None = None) -> Any:
    """Build an example environment from ``"name:key=value,..."`` or read a model file.

    ``spec`` is either

    - a path to a model file written by :meth:`~theory_rl.models.FiniteMDP.save` (it ends in
      ``.npz`` or ``.json``, or contains a path separator), read by
      :func:`theory_rl.models.load`; or
    - ``NAME`` or ``NAME:key=value,key=value`` where ``NAME`` is one of :func:`registered`
      (``-`` may stand for ``_``; ``hard`` is :func:`hard_instance`, ``gymnasium:env=FrozenLake-v1``
      is :func:`from_gymnasium`) and the keys are that generator's keyword arguments. Values are
      read as ``int`` (``10``), ``float`` (``0.9``, ``1e-3``), ``true``/``false``, ``none``, or
      else kept as strings.

    Parameters
    ----------
    spec : str
        The model spec.
    gamma : float, optional
        Overrides the discount factor (a ``gamma`` key in the spec, or the file's).

    Returns
    -------
    model
        What the generator returns (a :class:`~theory_rl.models.FiniteMDP`, or a
        :class:`~theory_rl.models.POMDP` for the classic POMDPs such as ``"tiger"``), or the
        file's model.

    Raises
    ------
    InvalidArgumentError
        An unknown name, a malformed ``key=value`` item, a key the generator does not accept,
        a missing required key, or a value of the wrong type, naming the spec and the key.
    InvalidModelError, SizeLimitError, ParseError
        From the generator (a value out of range, a model above the memory limit) or the file
        reader, unchanged.

    Examples
    --------
    >>> from theory_rl import envs
    >>> envs.make("gridworld:n_rows=3,n_cols=4").n_states
    12
    >>> envs.make("river_swim", gamma=0.9).gamma
    0.9
    >>> envs.make("forest:size=3")
    Traceback (most recent call last):
    ...
    theory_rl.errors.InvalidArgumentError: model spec 'forest:size=3': forest has no option 'size' (it takes n_states, r1, r2, p, gamma, sparse)
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidArgumentError(f"model spec must be a non-empty string, got {spec!r}")
    if len(spec) > _MAX_SPEC:
        raise InvalidArgumentError(f"model spec is {len(spec)} characters long (at most {_MAX_SPEC})")
    if gamma is not None and (isinstance(gamma, bool) or not isinstance(gamma, (int, float))):
        raise InvalidArgumentError(f"gamma must be a real number or None, got {gamma!r}")
    text = spec.strip()
    if text.lower().endswith((".npz", ".json")) or os.sep in text or "/" in text:
        from ..models import load

        model = load(text)
        return model if gamma is None else model.replace(gamma=gamma)
    name, _, arg_text = text.partition(":")
    key_name = name.strip().replace("-", "_").lower()
    generators = _generators()
    if key_name not in generators:
        raise InvalidArgumentError(
            f"unknown model {_show(spec)}: give a .npz/.json file or one of {', '.join(sorted(generators))}")
    fn = generators[key_name]
    params = inspect.signature(fn).parameters
    kwargs: dict[str, Any] = {}
    for item in arg_text.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not _NAME.fullmatch(key):
            raise InvalidArgumentError(f"model spec {_show(spec)}: malformed model argument {item!r} (expected key=value)")
        if key in kwargs:
            raise InvalidArgumentError(f"model spec {_show(spec)}: {key} is given twice")
        if key not in params or params[key].kind not in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                         inspect.Parameter.KEYWORD_ONLY):
            raise InvalidArgumentError(
                f"model spec {_show(spec)}: {key_name} has no option {key!r} (it takes {', '.join(params)})")
        kwargs[key] = _parse_value(spec, key, value.strip())
    if gamma is not None:
        if "gamma" not in params:
            raise InvalidArgumentError(f"model spec {_show(spec)}: {key_name} has no discount factor to override")
        kwargs["gamma"] = gamma
    missing = [p.name for p in params.values() if p.default is inspect.Parameter.empty and p.name not in kwargs]
    if missing:
        raise InvalidArgumentError(f"model spec {_show(spec)}: {key_name} needs {', '.join(missing)} "
                                   f"(e.g. '{key_name}:{missing[0]}=...')")
    for key, value in kwargs.items():
        _check_type(spec, key_name, key, params[key].annotation, value)
    try:
        return fn(**kwargs)
    except TheoryRLError:
        raise
    except (TypeError, ValueError) as exc:  # a check a generator does not yet phrase as the library's error
        raise InvalidArgumentError(f"model spec {_show(spec)}: {exc}") from None
    except Exception as exc:
        if type(exc).__module__.partition(".")[0] == "gymnasium":  # e.g. gymnasium.error.NameNotFound
            raise InvalidArgumentError(f"model spec {_show(spec)}: {exc}") from None
        raise
