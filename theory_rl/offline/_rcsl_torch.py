"""Return-conditioned supervised learning with torch: an MLP policy pi(a | s, g) and a small causal
transformer over (g, s, a) tokens (Decision Transformer's context), trained by cross-entropy."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np

from .._iterative import progress_range
from .._result import Result
from .._torch import mlp, require_torch, resolve_device, seed_torch, single_thread
from .._validation import as_float_array, check_bool, check_choice, check_int, check_real
from ..errors import InvalidArgumentError, InvalidModelError
from ._dataset import TrajectoryDataset

CONTEXTS = ("markov", "transformer")


def state_features(features: Any, n_states: int) -> np.ndarray:
    """``features`` as a float array of shape ``(S, d)``, the identity (one-hot states) when ``None``."""
    if features is None:
        return np.eye(n_states)
    phi = as_float_array(features, "features", ndim=2)
    if phi.shape[0] != n_states:
        raise InvalidModelError(f"features has {phi.shape[0]} rows, expected one per state ({n_states})")
    return phi


def check_hidden(hidden: Any) -> tuple[int, ...]:
    """A non-empty tuple of positive layer widths."""
    try:
        widths = tuple(hidden)
    except TypeError:
        raise InvalidArgumentError(f"hidden must be a sequence of layer widths, got {hidden!r}") from None
    if not widths:
        raise InvalidArgumentError("hidden must name at least one layer width")
    return tuple(check_int(w, "hidden") for w in widths)


def _causal_transformer(torch: Any, d_feat: int, n_actions: int, width: int, n_blocks: int, context_len: int) -> Any:
    nn = torch.nn

    class CausalTransformer(nn.Module):
        """Tokens ``(g_1, s_1, a_1, ..., g_K, s_K, a_K)``, left-padded with learned pad tokens;
        the logits of ``a_K`` are read at the token of ``s_K`` under a causal mask."""

        def __init__(self) -> None:
            super().__init__()
            self.embed_state = nn.Linear(d_feat, width)
            self.embed_return = nn.Linear(1, width)
            self.embed_action = nn.Embedding(n_actions + 1, width)  # index n_actions: padding
            self.pad_state = nn.Parameter(torch.zeros(width))
            self.pad_return = nn.Parameter(torch.zeros(width))
            self.position = nn.Embedding(3 * context_len, width)
            block = nn.TransformerEncoderLayer(width, nhead=1, dim_feedforward=4 * width, dropout=0.0,
                                               batch_first=True)
            self.blocks = nn.TransformerEncoder(block, n_blocks, enable_nested_tensor=False)
            self.head = nn.Linear(width, n_actions)
            mask = torch.triu(torch.full((3 * context_len, 3 * context_len), float("-inf")), diagonal=1)
            self.register_buffer("mask", mask)

        def forward(self, phi: Any, g: Any, a: Any, pad: Any) -> Any:
            # phi (B, K, d), g (B, K), a (B, K) with n_actions at padded steps, pad (B, K) bool
            B, K = g.shape
            p = pad[..., None]
            s_tok = torch.where(p, self.pad_state, self.embed_state(phi))
            g_tok = torch.where(p, self.pad_return, self.embed_return(g[..., None]))
            a_tok = self.embed_action(a)
            x = torch.stack([g_tok, s_tok, a_tok], dim=2).reshape(B, 3 * K, -1) + self.position.weight
            h = self.blocks(x, mask=self.mask, is_causal=True)
            return self.head(h[:, 3 * K - 2])

    return CausalTransformer()


@dataclasses.dataclass(frozen=True, repr=False, eq=False, kw_only=True)
class RCSLTorchResult(Result):
    r"""A return-conditioned torch policy (see :func:`rcsl_torch`).

    Acts through :meth:`action_distribution`, the interface of
    :class:`~theory_rl.offline.RCSLResult`, so :func:`~theory_rl.offline.rcsl_evaluate`
    evaluates it exactly on a finite model.

    Attributes
    ----------
    net : torch.nn.Module
        The trained network (on ``device``), in evaluation mode.
    features : ndarray, shape (S, d)
        The state features the network reads.
    n_states, n_actions, context_len : int
    context : str
        ``"markov"`` or ``"transformer"``.
    return_scale : float
        Returns-to-go enter the network divided by this (the largest ``|g|`` in the data).
    target_return : float
        The default conditioning :math:`g_0` (the best episode return in the data).
    final_loss : float
        Mean cross-entropy over the data after training.
    device : str

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, rcsl_torch
    >>> d = TrajectoryDataset([[0, 1], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> pi = rcsl_torch(d, n_steps=5, seed=0, device="cpu")
    >>> type(pi).__name__, pi.context, pi.action_distribution(0, [0], [1.0], []).shape
    ('RCSLTorchResult', 'markov', (2,))
    """

    net: Any
    features: np.ndarray
    n_states: int
    n_actions: int
    context_len: int
    context: str
    return_scale: float
    target_return: float
    final_loss: float
    device: str

    _repr_fields = ("context", "context_len", "n_states", "n_actions", "target_return", "final_loss")
    _dict_exclude = ("net", "features")

    def action_distribution(self, t: int, states: list[int], returns: list[float], actions: list[int]) -> np.ndarray:
        r""":math:`\pi(\cdot \mid \text{context})`, shape ``(A,)``: ``states``/``returns`` hold
        :math:`s_{0..t}`, :math:`g_{0..t}` and ``actions`` :math:`a_{0..t-1}` (only the last
        ``context_len`` steps are read; ``t`` is unused, the networks do not see time)."""
        torch = require_torch()
        K = self.context_len
        phi, g, a, pad = _windows(self.features, [np.asarray(states[-K:])], [np.asarray(returns[-K:], dtype=np.float64)],
                                  [np.asarray(list(actions[len(actions) - (K - 1):]) if K > 1 else [], dtype=np.int64)],
                                  K, self.n_actions, self.return_scale)
        with torch.no_grad():
            logits = _forward(self, *(torch.as_tensor(x, device=self.device) for x in (phi, g, a, pad)))
        return torch.softmax(logits.double(), dim=-1)[0].cpu().numpy()


def _forward(policy: Any, phi: Any, g: Any, a: Any, pad: Any) -> Any:
    if policy.context == "markov":
        return policy.net(torch_cat(phi[:, -1], g[:, -1:]))
    return policy.net(phi, g, a, pad)


def torch_cat(phi: Any, g: Any) -> Any:
    """``[phi, g]`` along the last axis (the Markov policy's input)."""
    return require_torch().cat([phi, g], dim=-1)


def _windows(features: np.ndarray, states: list, returns: list, actions: list, K: int, A: int,
             scale: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Left-padded last-``K`` windows of one step per entry: the ``K`` last states and returns-to-go,
    the ``K - 1`` actions before the last step (the last action slot is padding), the pad mask."""
    n = len(states)
    phi = np.zeros((n, K, features.shape[1]), dtype=np.float32)
    g = np.zeros((n, K), dtype=np.float32)
    a = np.full((n, K), A, dtype=np.int64)
    pad = np.ones((n, K), dtype=bool)
    for i, (s, r, acts) in enumerate(zip(states, returns, actions)):
        k = len(s)
        phi[i, K - k:] = features[s]
        g[i, K - k:] = r / scale
        if k > 1:
            a[i, K - k:K - 1] = acts[-(k - 1):]
        pad[i, K - k:] = False
    return phi, g, a, pad


def _training_windows(dataset: TrajectoryDataset, features: np.ndarray, K: int, scale: float) -> tuple:
    """Every step of the data as a (window, action) pair, vectorised over steps."""
    A = dataset.n_actions
    s_all = np.concatenate([s[:-1] for s in dataset.states])
    g_all = np.concatenate(dataset.returns_to_go)
    a_all = np.concatenate(dataset.actions)
    t_all = np.concatenate([np.arange(a.shape[0]) for a in dataset.actions])
    N = a_all.shape[0]
    offsets = np.arange(-K + 1, 1)  # window position j reads step i + offsets[j]
    idx = np.arange(N)[:, None] + offsets[None, :]
    pad = offsets[None, :] < -t_all[:, None]
    idx = np.where(pad, 0, idx)
    phi = features[s_all[idx]].astype(np.float32)
    phi[pad] = 0.0
    g = np.where(pad, 0.0, g_all[idx] / scale).astype(np.float32)
    prev = np.where(pad, A, a_all[idx])
    prev[:, -1] = A  # the action being predicted is not an input
    return phi, g, prev.astype(np.int64), pad, a_all.astype(np.int64)


def rcsl_torch(
    dataset: TrajectoryDataset,
    *,
    context: str = "markov",
    context_len: int = 1,
    features: Any = None,
    hidden: Any = (256, 256),
    n_steps: int = 2000,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    batch_size: int = 256,
    device: Any = "auto",
    seed: int | np.random.Generator | None = None,
    progress: bool = False,
) -> RCSLTorchResult:
    r"""Return-conditioned supervised learning with a neural policy (MLP or causal transformer).

    Maximises the log-likelihood of the data's actions given the return-to-go,

    .. math::
        \max_\theta \sum_{\tau \in D} \sum_t \log \pi_\theta(a_t \mid c_t), \qquad
        g_t = \sum_{t' \ge t} r_{t'},

    by Adam on minibatches (the cross-entropy loss). ``context="markov"``: an MLP on
    :math:`c_t = (\phi(s_t), g_t)` (Markovian RCSL); ``context="transformer"``: a causal
    transformer over the tokens :math:`(g, s, a)` of the last ``context_len`` steps, predicting
    :math:`a_t` at the token of :math:`s_t` (Decision Transformer, Chen et al. 2021, arXiv
    2106.01345, with the cross-entropy loss for discrete actions). At test time the agent
    conditions on a target :math:`g_0` and updates :math:`g_{t+1} = g_t - r_t`; evaluate it
    exactly with :func:`~theory_rl.offline.rcsl_evaluate`.

    **Assumptions and guarantee** (Zhou, Zhu, Zhou, Cui, Gupta & Du 2024, "Free from Bellman
    Completeness", arXiv 2310.19308, symbols :math:`\pi(a \mid s, g)`, :math:`g`): the RCSL
    guarantee is a supervised-learning one. With realizability of the return-conditioned policy
    by the network class, near-deterministic transitions and coverage of an optimal
    trajectory, conditioning on the optimal return recovers it; no Bellman completeness is
    needed (the paper's separation: a constant-width MLP represents RCSL's policy where
    Bellman completeness needs width growing with :math:`|S|`). With one-hot features and
    enough steps the softmax policy converges to the counting estimates of
    :func:`~theory_rl.offline.rcsl_fit` on every context seen in the data (the maximum-likelihood
    solution of an unrestricted class). The paper's impossibility result holds as well: neither
    context stitches trajectories.

    Implemented: discrete actions (cross-entropy). Not implemented: continuous actions (the
    paper's Gaussian/MSE heads), timestep embeddings (the transformer reads positions within
    its window only) and the paper's 10% validation hold-out.

    Parameters
    ----------
    dataset : TrajectoryDataset
    context : {"markov", "transformer"}
    context_len : int
        ``K``, steps of context (``1`` for ``"markov"``).
    features : array_like of shape (S, d), optional
        State features :math:`\phi(s)`; one-hot when ``None``.
    hidden : sequence of int
        MLP layer widths; for the transformer, its width is ``hidden[0]`` with one block
        (one attention head) per entry.
    n_steps, lr, weight_decay, batch_size
        Adam steps, step size, decoupled weight decay (AdamW) and minibatch size.
    device : str
        ``"auto"``: CUDA when present.
    seed : int or numpy.random.Generator, optional
    progress : bool

    Returns
    -------
    RCSLTorchResult

    Examples
    --------
    >>> from theory_rl.offline import TrajectoryDataset, rcsl_torch
    >>> d = TrajectoryDataset([[0, 1], [0, 0]], [[1], [0]], [[1.0], [0.0]], n_states=2, n_actions=2)
    >>> pi = rcsl_torch(d, hidden=(16,), n_steps=200, lr=1e-2, seed=0, device="cpu")
    >>> np.round(pi.action_distribution(0, [0], [1.0], []), 1).tolist()
    [0.0, 1.0]
    """
    t0 = time.perf_counter()
    torch = require_torch()
    if not isinstance(dataset, TrajectoryDataset):
        raise InvalidArgumentError(f"dataset must be a TrajectoryDataset, got {type(dataset).__name__}")
    context = check_choice(context, "context", CONTEXTS)
    K = check_int(context_len, "context_len")
    if context == "markov" and K != 1:
        raise InvalidArgumentError(f"context_len must be 1 for context='markov', got {K}")
    phi_all = state_features(features, dataset.n_states)
    widths = check_hidden(hidden)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    weight_decay = check_real(weight_decay, "weight_decay", low=0.0)
    batch_size = check_int(batch_size, "batch_size")
    progress = check_bool(progress, "progress")
    dev = resolve_device(device)
    if dataset.n_transitions == 0:
        raise InvalidArgumentError("rcsl_torch needs at least one transition in dataset")
    gen = seed_torch(seed)
    A = dataset.n_actions
    g_max = float(np.max(np.abs(np.concatenate(dataset.returns_to_go))))
    scale = g_max if g_max > 0 else 1.0
    arrays = _training_windows(dataset, phi_all, K, scale)
    phi, g, prev, pad, target = (torch.as_tensor(x, device=dev) for x in arrays)
    d = phi_all.shape[1]
    with single_thread(dev):
        if context == "markov":
            net = mlp(d + 1, A, widths).to(dev)
        else:
            net = _causal_transformer(torch, d, A, widths[0], len(widths), K).to(dev)
        policy = dict(net=net, context=context)
        opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
        N = target.shape[0]
        holder = _Holder(**policy)
        for _ in progress_range(n_steps, progress, "rcsl_torch", "step"):
            i = torch.randint(0, N, (min(batch_size, N),), generator=gen).to(dev)
            loss = torch.nn.functional.cross_entropy(_forward(holder, phi[i], g[i], prev[i], pad[i]), target[i])
            opt.zero_grad()
            loss.backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            final = float(torch.nn.functional.cross_entropy(_forward(holder, phi, g, prev, pad), target))
    best = float(dataset.episode_returns.max()) if dataset.n_episodes else 0.0
    return RCSLTorchResult(
        net=net, features=phi_all, n_states=dataset.n_states, n_actions=A, context_len=K, context=context,
        return_scale=scale, target_return=best, final_loss=final, device=str(dev), method="rcsl_torch",
        params={"context": context, "context_len": K, "hidden": list(widths), "n_steps": n_steps, "lr": lr,
                "weight_decay": weight_decay, "batch_size": batch_size},
        elapsed=time.perf_counter() - t0,
    )


@dataclasses.dataclass
class _Holder:
    """The two fields :func:`_forward` reads, during training."""

    net: Any
    context: str
