"""POMDPs: file formats (Cassandra ``.POMDP``, SARSOP ``.pomdpx``), beliefs, bounds, exact value
iteration with incremental pruning, point-based and online solvers, PSRs.

Every offline solver returns a :class:`POMDPSolution` (alpha vectors, ``lower``/``upper`` at b0).
"""

from ._backup import BackupResult, point_backup, project
from ._cassandra import parse_pomdp, read_pomdp, write_pomdp
from ._exact import exact_value_iteration, finite_horizon_value, prune
from ._solution import POMDPSolution, alpha_action, alpha_argmax, alpha_value

__all__ = [
    "BackupResult",
    "POMDPSolution",
    "alpha_action",
    "alpha_argmax",
    "alpha_value",
    "exact_value_iteration",
    "finite_horizon_value",
    "prune",
    "parse_pomdp",
    "read_pomdp",
    "write_pomdp",
    "point_backup",
    "project",
]
