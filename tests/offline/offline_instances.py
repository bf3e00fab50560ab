"""Constructed instances for the offline tests (and bench/offline_rcsl.py)."""

from __future__ import annotations

import numpy as np

from theory_rl.models import POMDP, FiniteMDP
from theory_rl.offline import TrajectoryDataset


def tiger(gamma: float = 0.95, accuracy: float = 0.85) -> POMDP:
    """Kaelbling, Littman & Cassandra (1998): states (tiger-left, tiger-right); actions (listen,
    open-left, open-right); listening is correct with probability ``accuracy``; opening resets."""
    T = np.zeros((2, 3, 2))
    T[:, 0, :] = np.eye(2)
    T[:, 1:, :] = 0.5
    O = np.full((3, 2, 2), 0.5)  # noqa: E741
    O[0] = [[accuracy, 1 - accuracy], [1 - accuracy, accuracy]]
    R = np.array([[-1.0, -100.0, 10.0], [-1.0, 10.0, -100.0]])
    return POMDP(T, O, R, gamma, b0=np.array([0.5, 0.5]))


def tsitsiklis_van_roy(gamma: float = 0.9) -> tuple[FiniteMDP, np.ndarray]:
    """Tsitsiklis & Van Roy (1997): one action, both states go to state 1 with reward 0, so
    Q* = 0 lies in span(phi) for phi = (1, 2); uniform-weight FQI multiplies w by 6 gamma / 5."""
    P = np.array([[[0.0, 1.0]], [[0.0, 1.0]]])
    return FiniteMDP(P, np.zeros((2, 1)), gamma), np.array([[1.0], [2.0]])


def stitching() -> tuple[FiniteMDP, TrajectoryDataset]:
    """Two trajectories share the middle state 1; the optimum 0 -> 1 -> 2 (return 11) uses the
    first half of one and the second half of the other.

    States: 0 start, 1 middle, 2 goal (terminal), 3 dead end (terminal), 4 second start,
    5 side exit (terminal). Actions 0/1. Data: 0 -a0-> 1 (r 1) -a0-> 3 (r 0), return 1;
    4 -a0-> 1 (r 0) -a1-> 2 (r 10), return 10; 0 -a1-> 5 (r 5), return 5.
    """
    S, A = 6, 2
    P = np.zeros((S, A, S))
    nxt = {(0, 0): 1, (0, 1): 5, (1, 0): 3, (1, 1): 2, (4, 0): 1, (4, 1): 3}
    R = np.zeros((S, A))
    R[0, 0], R[0, 1], R[1, 1] = 1.0, 5.0, 10.0
    R[4, 0] = 0.0
    for s in range(S):
        for a in range(A):
            P[s, a, nxt.get((s, a), s)] = 1.0
    for s in (2, 3, 5):
        P[s, :, :] = 0.0
        P[s, :, s] = 1.0
    d0 = np.zeros(S)
    d0[0] = 1.0
    mdp = FiniteMDP(P, R, 1.0, d0=d0, horizon=3, terminal=[2, 3, 5])
    data = TrajectoryDataset(
        [[0, 1, 3], [4, 1, 2], [0, 5]], [[0, 0], [0, 1], [1]], [[1.0, 0.0], [0.0, 10.0], [5.0]],
        n_states=S, n_actions=A, terminated=np.array([True, True, True]),
    )
    return mdp, data
