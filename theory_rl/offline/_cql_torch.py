"""Conservative Q-learning on torch (discrete actions): an MLP Q on state features, or a GRU
history encoder on POMDP data, optionally with the history-bisimulation loss added."""

from __future__ import annotations

import copy
import dataclasses
import time
from typing import Any

import numpy as np

from .._result import History, Result
from .._torch import as_tensor, require_torch, resolve_device, seed_torch, single_thread, to_numpy
from .._validation import as_float_array, check_choice, check_int, check_real
from ..errors import InvalidArgumentError
from ._bisimulation_loss import _NORMS, model_bisimulation_loss, sampled_bisimulation_loss
from ._dataset import TrajectoryDataset
from ._histories import HistoryTree


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class CQLTorchResult(Result):
    r"""A CQL Q-network trained on torch (see :func:`cql_torch`).

    Attributes
    ----------
    q : ndarray or None
        ``encoder="mlp"``: :math:`Q(s, \cdot)` on every row of the features, shape ``(S, A)``.
        ``encoder="gru"`` with a ``tree``: :math:`Q(h, \cdot)` on every history of the tree,
        shape ``(n_histories, A)``; else ``None``.
    network : torch.nn.Module
        ``network(x)`` gives ``(z, q)``: the latent and the Q-values (``x``: features of shape
        ``(B, d)``, or for the GRU one-hot history sequences of shape ``(B, T, A + O)``).
    history : History
        Per gradient step: ``td_loss`` (:math:`\frac12 (Q - y)^2`), ``cql_penalty``
        (:math:`\log\sum_a e^{Q} - Q(s, a)`), ``bisimulation`` (:math:`\hat J`, 0 when unused).
    n_steps : int
    seconds_per_step : float
        Wall time of the training loop divided by ``n_steps``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl.offline import TrajectoryDataset, cql_torch
    >>> d = TrajectoryDataset([[0, 1], [0, 1]], [[0], [1]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> res = cql_torch(d, gamma=0.9, hidden=(), n_steps=5, seed=0, device="cpu")
    >>> type(res).__name__, res.q.shape, len(res.history)
    ('CQLTorchResult', (2, 2), 5)
    """

    q: np.ndarray | None
    network: Any
    history: History
    n_steps: int
    seconds_per_step: float

    _repr_fields = ("n_steps", "seconds_per_step")
    _dict_exclude = ("network",)


def _mlp_network(torch: Any, d: int, n_actions: int, hidden: tuple[int, ...]) -> Any:
    class MLPQ(torch.nn.Module):
        """Hidden ReLU stack (the latent z) and a linear Q head."""

        def __init__(self) -> None:
            super().__init__()
            layers: list[Any] = []
            for a, b in zip((d, *hidden[:-1]), hidden):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            self.body = torch.nn.Sequential(*layers)
            self.head = torch.nn.Linear(hidden[-1] if hidden else d, n_actions)

        def forward(self, x: Any) -> tuple[Any, Any]:
            z = self.body(x)
            return z, self.head(z)

    return MLPQ()


def _gru_network(torch: Any, d: int, n_actions: int, hidden: tuple[int, ...]) -> Any:
    class GRUQ(torch.nn.Module):
        """GRU over one-hot (a_{t-1}, o_t) steps (its state is the latent z_t) and an MLP Q head."""

        def __init__(self) -> None:
            super().__init__()
            self.gru = torch.nn.GRU(d, hidden[0], batch_first=True)
            layers: list[Any] = []
            for a, b in zip(hidden[:-1], hidden[1:]):
                layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
            self.head = torch.nn.Sequential(*layers, torch.nn.Linear(hidden[-1], n_actions))

        def forward(self, x: Any) -> tuple[Any, Any]:
            z, _ = self.gru(x)  # (B, T, k): z[:, t] encodes steps 0..t
            return z, self.head(z)

    return GRUQ()


def _latent_heads(torch: Any, k: int, n_actions: int) -> Any:
    class LatentHeads(torch.nn.Module):
        """Reward head r(z, a) and diagonal-Gaussian latent dynamics head N(m(z, a), s(z, a)^2)."""

        def __init__(self) -> None:
            super().__init__()
            self.n_actions = n_actions
            self.reward = torch.nn.Linear(k + n_actions, 1)
            self.dynamics = torch.nn.Linear(k + n_actions, 2 * k)

        def forward(self, z: Any, a: Any) -> tuple[Any, Any, Any]:
            za = torch.cat([z, torch.nn.functional.one_hot(a, self.n_actions).to(z.dtype)], dim=-1)
            mean, log_std = self.dynamics(za).chunk(2, dim=-1)
            return self.reward(za)[:, 0], mean, log_std.clamp(-5.0, 2.0).exp()

    return LatentHeads()


def _history_inputs(actions: list[np.ndarray], observations: list[np.ndarray], A: int, O: int) -> np.ndarray:  # noqa: E741
    """One-hot sequences ``x[e, t] = (onehot a_{t-1}, onehot o_t)`` (zeros at t = 0 and past the
    end), shape ``(E, T_max + 1, A + O)``."""
    T = max((a.size for a in actions), default=0)
    x = np.zeros((len(actions), T + 1, A + O), dtype=np.float32)
    for e, (a, o) in enumerate(zip(actions, observations)):
        t = np.arange(1, a.size + 1)
        x[e, t, a] = 1.0
        x[e, t, A + o] = 1.0
    return x


def cql_torch(
    dataset: TrajectoryDataset,
    *,
    gamma: float,
    features: Any = None,
    encoder: str = "mlp",
    alpha: float = 1.0,
    hidden: tuple[int, ...] = (64, 64),
    n_steps: int = 1000,
    batch_size: int = 256,
    lr: float = 1e-3,
    target_update: int = 100,
    bisimulation_weight: float = 0.0,
    bisimulation_target: str = "sampled",
    norm: str = "l1",
    tree: HistoryTree | None = None,
    seed: int | np.random.Generator | None = None,
    device: Any = "auto",
) -> CQLTorchResult:
    r"""Conservative Q-learning with a neural Q-function on discrete actions (Kumar, Zhou, Tucker &
    Levine 2020, arXiv 2006.04779; CQL(H)), optionally with the history-bisimulation loss of
    Hong, Dragan & Levine (2024, arXiv 2310.20663) on the encoder.

    Minimises over minibatches :math:`B` of dataset transitions :math:`(x, a, r, x', \text{done})`

    .. math::
        L(\theta) = \frac{1}{|B|}\sum_B \Big[\tfrac12 \big(Q_\theta(x, a) - y\big)^2
            + \alpha\big(\log\textstyle\sum_{a'} e^{Q_\theta(x, a')} - Q_\theta(x, a)\big)\Big]
            + \lambda\, \hat J(\phi_\theta),
        \qquad y = r + \gamma (1 - \text{done}) \max_{a'} Q_{\bar\theta}(x', a'),

    with Adam, the target parameters :math:`\bar\theta` copied every ``target_update`` steps,
    and :math:`\hat J` the bisimulation loss on the latent, pairs from a random permutation of
    the batch, :math:`\lambda` = ``bisimulation_weight``: ``bisimulation_target="sampled"``
    (:func:`sampled_bisimulation_loss`: observed rewards, next latents from the target encoder)
    or ``"model"`` (:func:`model_bisimulation_loss`: a reward head :math:`\hat r(z, a)` and a
    diagonal-Gaussian latent dynamics head, fitted by squared error and by the likelihood of
    the target encoder's next latent, both added with weight :math:`\lambda`; their outputs
    enter :math:`\hat J` detached, as in deep bisimulation for control). This is the sample version of :func:`cql`'s
    objective: on one-hot features with ``hidden=()`` (a table) and full batches it converges to
    the same fixed point. As in :func:`cql`, ``done`` marks next states the data never act in
    (terminal or end of data) and the end of each episode for histories.

    Inputs (``encoder``):

    - ``"mlp"``: :math:`x = \text{features}[s]` (default one-hot: a lookup encoder), the latent
      :math:`z` is the last hidden layer and :math:`Q = W z + b`.
    - ``"gru"``: POMDP data (with observations); :math:`z_t` is the state of a GRU of width
      ``hidden[0]`` after reading the one-hot steps :math:`(a_{t-1}, o_t)` of the history, and an
      MLP head (``hidden[1:]``) gives Q. Minibatches are ``batch_size`` whole episodes.

    The guarantee of the tabular method (a lower bound on the policy value, Thm 3.2) holds for the
    exact minimiser; the network's is approximate (optimisation and generalisation error).

    Parameters
    ----------
    dataset : TrajectoryDataset
    gamma : float
    features : array_like, shape (S, d), optional
        ``"mlp"`` only; default the identity (one-hot states).
    encoder : {"mlp", "gru"}
    alpha : float
        The CQL weight :math:`\alpha \ge 0`.
    hidden : tuple of int
        Hidden widths (``"gru"``: at least one, the GRU width first).
    n_steps, batch_size, target_update : int
    lr : float
    bisimulation_weight : float
        :math:`\lambda \ge 0`.
    bisimulation_target : {"sampled", "model"}
        The form of :math:`\hat J` (see above).
    norm : {"l1", "l2", "linf"}
        Latent norm of the bisimulation loss.
    tree : HistoryTree, optional
        ``"gru"`` only: evaluate the trained Q on every history of the tree.
    seed : int or Generator, optional
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import envs, offline
    >>> d = offline.collect_trajectories(envs.chain(3), np.full((3, 2), 0.5), n_episodes=20, horizon=4, seed=0)
    >>> res = offline.cql_torch(d, gamma=0.9, hidden=(16,), n_steps=50, seed=0, device="cpu")
    >>> res.q.shape, bool(np.isfinite(res.history["td_loss"]).all())
    ((3, 2), True)
    """
    torch = require_torch()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    if dataset.n_transitions == 0:
        raise InvalidArgumentError("cql_torch needs at least one transition")
    gamma = check_real(gamma, "gamma", low=0.0, high=1.0, high_open=True)
    alpha = check_real(alpha, "alpha", low=0.0)
    encoder = check_choice(encoder, "encoder", ("mlp", "gru"))
    hidden = tuple(check_int(h, "hidden") for h in hidden)
    n_steps = check_int(n_steps, "n_steps")
    batch_size = check_int(batch_size, "batch_size")
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    target_update = check_int(target_update, "target_update")
    lam = check_real(bisimulation_weight, "bisimulation_weight", low=0.0)
    target_form = check_choice(bisimulation_target, "bisimulation_target", ("sampled", "model"))
    norm = check_choice(norm, "norm", _NORMS)
    dev = resolve_device(device)
    gen = seed_torch(seed)
    S, A = dataset.n_states, dataset.n_actions
    if encoder == "gru":
        if dataset.observations is None:
            raise InvalidArgumentError('encoder="gru" needs a dataset with observations (POMDP data)')
        if not hidden:
            raise InvalidArgumentError('hidden must hold the GRU width for encoder="gru"')
        if tree is not None and not isinstance(tree, HistoryTree):
            raise InvalidArgumentError(f"tree must be a HistoryTree, got {type(tree).__name__}")
        O = int(dataset.n_observations)  # noqa: E741 - POMDP notation
        net = _gru_network(torch, A + O, A, hidden)
        x_all = as_tensor(_history_inputs(list(dataset.actions), list(dataset.observations), A, O), device=dev,
                          dtype=torch.float32)
        lengths = np.array([a.size for a in dataset.actions])
        T = x_all.shape[1] - 1
        step_mask = as_tensor((np.arange(T)[None, :] < lengths[:, None]).astype(np.float32), device=dev,
                              dtype=torch.float32)
        last = as_tensor((np.arange(T)[None, :] == lengths[:, None] - 1).astype(np.float32), device=dev,
                         dtype=torch.float32)
        pad = [np.pad(v, (0, T - v.size)) for v in dataset.actions]
        act_all = as_tensor(np.array(pad, dtype=np.int64), device=dev, dtype=torch.int64)
        rew_all = as_tensor(np.array([np.pad(v, (0, T - v.size)) for v in dataset.rewards]), device=dev,
                            dtype=torch.float32)
        n_items = dataset.n_episodes
    else:
        F = np.eye(S) if features is None else as_float_array(features, "features", ndim=2)
        if F.shape[0] != S or not np.isfinite(F).all():
            raise InvalidArgumentError(f"features must be finite with one row per state ({S}), got shape {F.shape}")
        net = _mlp_network(torch, F.shape[1], A, hidden)
        s, a, r, s2 = dataset.transitions()
        acting = np.zeros(S, dtype=bool)
        acting[s] = True
        feats = as_tensor(F, device=dev, dtype=torch.float32)
        tr = [as_tensor(v, device=dev, dtype=dt) for v, dt in
              ((s, torch.int64), (a, torch.int64), (r, torch.float32), (s2, torch.int64),
               ((~acting[s2]).astype(np.float32), torch.float32))]
        n_items = s.size
    net = net.to(dev)
    target = copy.deepcopy(net)
    params = list(net.parameters())
    if lam > 0 and target_form == "model":
        latent = hidden[0] if encoder == "gru" else (hidden[-1] if hidden else F.shape[1])
        heads = _latent_heads(torch, latent, A).to(dev)
        params += list(heads.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    logs = np.zeros((n_steps, 3))

    def batch() -> tuple[Any, ...]:
        if batch_size >= n_items:
            idx = torch.arange(n_items, device=dev)
        else:
            idx = torch.randint(0, n_items, (batch_size,), generator=gen).to(dev)
        if encoder == "mlp":
            bs, ba, br, bs2, bd = (v[idx] for v in tr)
            z, q = net(feats[bs])
            with torch.no_grad():
                zn, qn = target(feats[bs2])
            return z, q, ba, br, bd, zn, qn
        x = x_all[idx]
        z, q = net(x[:, :-1])
        with torch.no_grad():
            zt, qt = target(x)
        keep = step_mask[idx].reshape(-1) > 0

        def flat(v: Any) -> Any:
            return v.reshape(-1, v.shape[-1])[keep]

        return (flat(z), flat(q), act_all[idx].reshape(-1)[keep], rew_all[idx].reshape(-1)[keep],
                last[idx].reshape(-1)[keep], flat(zt[:, 1:]), flat(qt[:, 1:]))

    t0 = time.perf_counter()
    with single_thread(dev):
        for k in range(n_steps):
            if k % target_update == 0:
                target.load_state_dict(net.state_dict())
            z, q, ba, br, bd, zn, qn = batch()
            y = br + gamma * (1.0 - bd) * qn.max(dim=1).values
            q_sa = q.gather(1, ba[:, None])[:, 0]
            td = 0.5 * ((q_sa - y) ** 2).mean()
            penalty = (torch.logsumexp(q, dim=1) - q_sa).mean()
            loss = td + alpha * penalty
            bis = torch.zeros((), device=dev)
            if lam > 0:
                perm = torch.randperm(z.shape[0], generator=gen).to(dev)
                if target_form == "sampled":
                    bis = sampled_bisimulation_loss(z, z[perm], br, br[perm], zn, zn[perm], gamma=gamma, norm=norm)
                    loss = loss + lam * bis
                else:
                    r_hat, mean, std = heads(z.detach(), ba)
                    fit = ((r_hat - br) ** 2).mean() + (0.5 * ((zn - mean) / std) ** 2 + std.log()).sum(-1).mean()
                    r_hat, mean, std = r_hat.detach(), mean.detach(), std.detach()
                    bis = model_bisimulation_loss(z, z[perm], r_hat, r_hat[perm], mean, std, mean[perm], std[perm],
                                                  gamma=gamma, norm=norm)
                    loss = loss + lam * (bis + fit)
            opt.zero_grad()
            loss.backward()
            opt.step()
            logs[k] = (td.item(), penalty.item(), bis.item())
    elapsed_loop = time.perf_counter() - t0
    with torch.no_grad():
        if encoder == "mlp":
            q_out = to_numpy(net(feats)[1]).astype(np.float64)
        elif tree is not None:
            hist_x = _history_inputs([row[row >= 0] for row in tree.actions],
                                     [row[row >= 0] for row in tree.observations], A, O)
            _, qh = net(as_tensor(hist_x, device=dev, dtype=torch.float32))
            q_out = to_numpy(qh[torch.arange(tree.n_histories, device=dev),
                                  as_tensor(np.array(tree.depth), device=dev, dtype=torch.int64)])
            q_out = q_out.astype(np.float64)
        else:
            q_out = None
    return CQLTorchResult(
        q=q_out, network=net,
        history=History({"td_loss": logs[:, 0], "cql_penalty": logs[:, 1], "bisimulation": logs[:, 2]}),
        n_steps=n_steps, seconds_per_step=elapsed_loop / n_steps, method="cql_torch",
        params={"gamma": gamma, "alpha": alpha, "encoder": encoder, "hidden": hidden, "n_steps": n_steps,
                "batch_size": batch_size, "lr": lr, "target_update": target_update, "bisimulation_weight": lam,
                "bisimulation_target": target_form, "norm": norm, "device": str(dev)},
        elapsed=elapsed_loop,
    )
