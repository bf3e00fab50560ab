"""Model-based RCSL with torch components: a probabilistic dynamics ensemble with elites, a
categorical behaviour policy, model rollouts filtered by return, and RCSL (MLP or transformer)."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from .._result import Result
from .._sampling import sample_rows
from .._torch import mlp, require_torch, resolve_device, seed_torch, single_thread
from .._validation import check_bool, check_int, check_optional_int, check_real, rng_from_seed
from ..errors import InvalidArgumentError
from ..models import FiniteMDP
from ._dataset import TrajectoryDataset
from ._mbrcsl import data_terminal_states, filtered_rollouts
from ._rcsl_torch import RCSLTorchResult, check_hidden, rcsl_torch, state_features

ROLLOUT_BATCH = 200  # the paper's rollout batch (Point Maze)


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class MBRCSLTorchResult(Result):
    """The output of :func:`mbrcsl_torch`.

    Attributes
    ----------
    policy : RCSLTorchResult
        RCSL on the kept rollouts (conditioned by default on their best return), or on the
        dataset itself when no rollout beat the threshold (``n_kept = 0``).
    rollouts : TrajectoryDataset
        The kept rollouts.
    threshold : float
        The dataset's best episode return; a rollout is kept when its return exceeds it.
    target_return : float
    n_generated, n_kept : int
    elites : ndarray of int
        The ensemble members kept (lowest validation loss), empty with an exact ``model``.
    validation_loss : ndarray, shape (n_models,)
        Each member's Gaussian negative log-likelihood on the held-out transitions (empty with ``model``).
    behaviour_loss : float
        The behaviour policy's cross-entropy on the data after training.

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, mbrcsl_torch
    >>> d = TrajectoryDataset([[0, 1], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> res = mbrcsl_torch(d, n_models=2, n_elites=1, hidden=(8,), n_steps=5, max_rollouts=200, seed=0, device="cpu")
    >>> type(res).__name__, type(res.policy).__name__, res.elites.shape
    ('MBRCSLTorchResult', 'RCSLTorchResult', (1,))
    """

    policy: RCSLTorchResult
    rollouts: TrajectoryDataset
    threshold: float
    target_return: float
    n_generated: int
    n_kept: int
    elites: np.ndarray
    validation_loss: np.ndarray
    behaviour_loss: float

    _repr_fields = ("threshold", "target_return", "n_generated", "n_kept", "elites")
    _dict_exclude = ("policy", "rollouts")


def _gaussian_ensemble(torch: Any, n_models: int, n_in: int, hidden: tuple[int, ...], n_out: int) -> Any:
    nn = torch.nn

    class GaussianEnsemble(nn.Module):
        """``n_models`` independent MLPs, each a diagonal Gaussian over ``n_out`` targets; the
        log-variance is soft-bounded between learned limits (Chua et al. 2018, arXiv 1805.12114)."""

        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList(mlp(n_in, 2 * n_out, hidden) for _ in range(n_models))
            self.max_logvar = nn.Parameter(torch.full((n_out,), 0.5))
            self.min_logvar = nn.Parameter(torch.full((n_out,), -10.0))

        def forward(self, x: Any) -> tuple[Any, Any]:
            out = torch.stack([m(x) for m in self.members])  # (M, B, 2 * n_out)
            mean, logvar = out.chunk(2, dim=-1)
            logvar = self.max_logvar - nn.functional.softplus(self.max_logvar - logvar)
            logvar = self.min_logvar + nn.functional.softplus(logvar - self.min_logvar)
            return mean, logvar

    return GaussianEnsemble()


def _nll(mean: Any, logvar: Any, y: Any) -> Any:
    """Gaussian negative log-likelihood (without the constant) per member, shape ``(M,)``."""
    return (((mean - y) ** 2) * (-logvar).exp() + logvar).mean(dim=(1, 2))


def mbrcsl_torch(
    dataset: TrajectoryDataset,
    *,
    features: Any = None,
    model: FiniteMDP | None = None,
    n_models: int = 7,
    n_elites: int = 5,
    hidden: Any = (200, 200, 200, 200),
    n_steps: int = 2000,
    lr: float = 1e-3,
    batch_size: int = 256,
    horizon: int | None = None,
    n_keep: int = 100,
    max_rollouts: int = 100_000,
    context: str = "markov",
    context_len: int = 1,
    rcsl_hidden: Any = (256, 256),
    rcsl_steps: int | None = None,
    device: Any = "auto",
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> MBRCSLTorchResult:
    r"""Model-based RCSL with neural components (Zhou, Zhu, Zhou, Cui, Gupta & Du 2024, arXiv 2310.19308).

    1. **Dynamics**: an ensemble of ``n_models`` Gaussian MLPs
       :math:`\hat p_i(\Delta\phi, r \mid \phi(s), a) = \mathcal N(\mu_i, \operatorname{diag}\sigma_i^2)`
       with :math:`\Delta\phi = \phi(s') - \phi(s)`, fit by the Gaussian negative log-likelihood on
       90% of the transitions; the ``n_elites`` members with the lowest likelihood loss on the other
       10% are kept (the probabilistic ensemble of Chua et al. 2018, arXiv 1805.12114, as the paper
       uses it). ``model`` replaces the ensemble by an exact finite model.
    2. **Behaviour policy** :math:`\hat\mu(a \mid \phi(s))`: a categorical MLP fit by cross-entropy.
    3. **Rollouts** of :math:`\hat\mu` in the model from the dataset's initial states, for
       ``horizon`` steps, in batches of 200: at each step a random elite draws
       :math:`(\phi', r)`; the next state is the state whose features are nearest to
       :math:`\phi'` (the state space is finite), the reward is the elite's mean. A rollout
       stops at a state where a data episode terminated.
    4. **Filter**: keep the rollouts whose return exceeds the dataset's best episode return,
       until ``n_keep`` are kept or ``max_rollouts`` were generated.
    5. **RCSL** (:func:`~theory_rl.offline.rcsl_torch`, MLP or transformer) on the kept rollouts,
       conditioned on their best return.

    **Why it works.** The rollouts stitch segments of different trajectories at shared states;
    RCSL on the kept ones needs only its supervised-learning conditions (near-deterministic
    transitions, coverage of an optimal trajectory by the rollouts, realizability), never
    Bellman completeness, since no dynamic-programming backup is made.

    **Deviations from the paper.** The behaviour policy is a categorical MLP, not the paper's
    diffusion policy: with finitely many actions the categorical is the exact maximum-likelihood
    model of :math:`\mu(a \mid s)` (a diffusion model is a device for continuous action
    densities), and it trains in seconds on a CPU. Discrete states and actions only (the
    rollouts snap to the nearest state); no per-layer weight decay on the ensemble; every
    member trains on the same minibatches (no bootstrap resampling: the members differ by
    their initialisation); the reward of a rollout step is the elite's mean, not a draw.
    Seeded end to end.

    Parameters
    ----------
    dataset : TrajectoryDataset
    features : array_like of shape (S, d), optional
        State features :math:`\phi(s)` for every network; one-hot when ``None``.
    model : FiniteMDP, optional
        Exact dynamics, rewards and terminal states instead of the ensemble.
    n_models, n_elites : int
        Ensemble size and elites (the paper: 7 and 5).
    hidden : sequence of int
        Layer widths of the ensemble members and the behaviour policy (the paper: 4 x 200).
    n_steps, lr, batch_size
        Adam steps, step size and minibatch size of the ensemble and the behaviour policy.
    horizon : int, optional
        Rollout length; default the longest episode.
    n_keep, max_rollouts : int
    context, context_len, rcsl_hidden, rcsl_steps
        The RCSL policy (:func:`~theory_rl.offline.rcsl_torch`); ``rcsl_steps`` defaults to ``n_steps``.
    device, seed, progress

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.offline import TrajectoryDataset, mbrcsl_torch
    >>> d = TrajectoryDataset([[0, 1, 2], [3, 1, 4]], [[0, 0], [0, 1]], [[0.0, 0.0], [0.0, 1.0]],
    ...     n_states=5, n_actions=2, terminated=np.array([True, True]))
    >>> res = mbrcsl_torch(d, n_models=2, n_elites=1, hidden=(16,), n_steps=300, max_rollouts=400, seed=0, device="cpu")
    >>> res.threshold, res.n_kept <= res.n_generated, len(res.validation_loss)
    (1.0, True, 2)
    """
    t0 = time.perf_counter()
    torch = require_torch()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    if dataset.n_transitions == 0:
        raise InvalidArgumentError("mbrcsl_torch needs at least one transition in dataset")
    S, A = dataset.n_states, dataset.n_actions
    phi_all = state_features(features, S)
    n_models = check_int(n_models, "n_models")
    n_elites = check_int(n_elites, "n_elites", maximum=n_models)
    widths = check_hidden(hidden)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    batch_size = check_int(batch_size, "batch_size")
    longest = max(int(a.shape[0]) for a in dataset.actions)
    H = check_optional_int(horizon, "horizon") or longest
    n_keep = check_int(n_keep, "n_keep")
    max_rollouts = check_int(max_rollouts, "max_rollouts")
    rcsl_steps = n_steps if rcsl_steps is None else check_int(rcsl_steps, "rcsl_steps", minimum=0)
    progress = check_bool(progress, "progress")
    if model is not None and (not isinstance(model, FiniteMDP) or (model.n_states, model.n_actions) != (S, A)):
        raise InvalidArgumentError(f"model must be a FiniteMDP with {S} states and {A} actions")
    dev = resolve_device(device)
    rng = rng_from_seed(seed)
    gen = seed_torch(rng)
    s, a, r, s2 = dataset.transitions()
    d = phi_all.shape[1]
    phi_t = torch.as_tensor(phi_all, dtype=torch.float32, device=dev)
    eye_a = torch.eye(A, device=dev)
    term = data_terminal_states(dataset)
    acting = np.bincount(s, minlength=S) > 0
    with single_thread(dev):
        x_all = torch.cat([phi_t[torch.as_tensor(s, device=dev)], eye_a[torch.as_tensor(a, device=dev)]], dim=1)
        # behaviour policy
        beh = mlp(d, A, widths).to(dev)
        opt = torch.optim.Adam(beh.parameters(), lr=lr)
        s_t, a_t = torch.as_tensor(s, device=dev), torch.as_tensor(a, device=dev)
        N = s.shape[0]
        for _ in range(n_steps):
            i = torch.randint(0, N, (min(batch_size, N),), generator=gen).to(dev)
            loss = torch.nn.functional.cross_entropy(beh(phi_t[s_t[i]]), a_t[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            beh_loss = float(torch.nn.functional.cross_entropy(beh(phi_t[s_t]), a_t))
            mu = torch.softmax(beh(phi_t).double(), dim=1).cpu().numpy()  # (S, A): states are finite
        if model is None:
            y = np.concatenate([phi_all[s2] - phi_all[s], r[:, None]], axis=1)
            y_loc, y_scale = y.mean(axis=0), y.std(axis=0)
            y_scale[y_scale < 1e-8] = 1.0  # targets are standardised, the predictions mapped back
            y_all = torch.as_tensor((y - y_loc) / y_scale, dtype=torch.float32, device=dev)
            perm = torch.randperm(N, generator=gen).to(dev)
            n_val = N // 10  # the paper's 10% hold-out (none below 10 transitions)
            val, train = perm[:n_val], perm[n_val:]
            ens = _gaussian_ensemble(torch, n_models, d + A, widths, d + 1).to(dev)
            opt = torch.optim.Adam(ens.parameters(), lr=lr)
            for _ in range(n_steps):
                i = train[torch.randint(0, train.shape[0], (min(batch_size, train.shape[0]),), generator=gen).to(dev)]
                mean, logvar = ens(x_all[i])
                loss = _nll(mean, logvar, y_all[i]).sum() + 0.01 * (ens.max_logvar.sum() - ens.min_logvar.sum())
                opt.zero_grad()
                loss.backward()
                opt.step()
            with torch.no_grad():
                held = val if n_val else train
                mean, logvar = ens(x_all[held])
                val_loss = _nll(mean, logvar, y_all[held]).cpu().numpy().astype(np.float64)
                elites = np.sort(np.argsort(val_loss, kind="stable")[:n_elites])
                # the elites' predictions for every (s, a): the state space is finite
                grid = torch.cat([phi_t.repeat_interleave(A, dim=0), eye_a.repeat(S, 1)], dim=1)
                g_mean, g_logvar = ens(grid)
                g_mean = g_mean[elites].double().cpu().numpy().reshape(len(elites), S, A, d + 1) * y_scale + y_loc
                g_std = (0.5 * g_logvar[elites].double()).exp().cpu().numpy().reshape(len(elites), S, A, d + 1) * y_scale
        else:
            val_loss = np.zeros(0)
            elites = np.zeros(0, dtype=np.int64)
            Pm = model.transition_matrix
            P = (Pm.toarray() if hasattr(Pm, "toarray") else np.asarray(Pm)).reshape(S, A, S)
            R = np.asarray(model.R, dtype=np.float64)
            term = np.zeros(S, dtype=bool) if model.terminal is None else np.asarray(model.terminal).copy()
    def step(st: np.ndarray, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        at = sample_rows(rng, mu[st])
        if model is not None:
            return at, sample_rows(rng, P[st, at]), R[st, at]
        e = rng.integers(0, len(elites), size=st.shape[0])  # an elite per rollout and step
        m, sd = g_mean[e, st, at], g_std[e, st, at]
        nxt = phi_all[st] + m[:, :d] + sd[:, :d] * rng.standard_normal((st.shape[0], d))
        return at, np.argmin(((nxt[:, None, :] - phi_all[None, :, :]) ** 2).sum(axis=2), axis=1), m[:, d]

    rollouts, generated = filtered_rollouts(rng, step, dataset, term=term, acting=acting, horizon=H, n_keep=n_keep,
                                            max_rollouts=max_rollouts, batch_size=ROLLOUT_BATCH)
    policy = rcsl_torch(rollouts if rollouts.n_episodes else dataset, context=context, context_len=context_len, features=phi_all,
                        hidden=rcsl_hidden, n_steps=rcsl_steps, lr=lr, batch_size=batch_size, device=dev, seed=rng)
    return MBRCSLTorchResult(
        policy=policy, rollouts=rollouts, threshold=float(dataset.episode_returns.max()),
        target_return=policy.target_return, n_generated=generated, n_kept=rollouts.n_episodes, elites=elites, validation_loss=val_loss, behaviour_loss=beh_loss,
        method="mbrcsl_torch",
        params={"n_models": n_models, "n_elites": n_elites, "hidden": list(widths), "n_steps": n_steps, "lr": lr,
                "batch_size": batch_size, "horizon": H, "n_keep": n_keep, "max_rollouts": max_rollouts,
                "model": "exact" if model is not None else "ensemble", "context": context,
                "context_len": context_len},
        elapsed=time.perf_counter() - t0,
    )
