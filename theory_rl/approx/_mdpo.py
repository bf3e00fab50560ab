r"""Mirror Descent Policy Optimization with neural policies (Tomar, Shani, Efroni & Ghavamzadeh,
ICLR 2022, arXiv 2005.09814): on-policy, off-policy, and the policy step with an exact critic.

Every variant takes ``k`` approximate mirror-descent steps

.. math::
    \pi_{k+1} \in \arg\max_{\pi_\theta} \; \mathbb E_{s}\Big[\mathbb E_{a \sim \pi_\theta}
        A^{\pi_k}(s, a) - \frac{1}{t_k} \mathrm{KL}\big(\pi_\theta(\cdot|s) \,\|\, \pi_k(\cdot|s)\big)\Big]

by several SGD steps on ``theta`` (the paper's point: m > 1 steps; ``m = 1`` is a vanilla
policy-gradient step since the KL's gradient vanishes at ``theta_k``). Over the full policy
class the per-state maximiser is ``pi_k exp(t_k A^{pi_k}) / Z``, the exact tabular MDPO step of
:func:`theory_rl.tabular.mirror_descent_policy_optimization`; with one-hot inputs, a linear
softmax policy and the exact critic, :func:`mdpo_exact_critic` follows those iterates (tested).
Deviations from the paper and its official code (Tomar et al.'s TensorFlow release), stated:

- Actions are discrete here (the paper's experiments are continuous-control MuJoCo with Gaussian
  policies; that parameterisation is not implemented).
- **No Tsallis option.** The official code can replace the KL proximity term by a Tsallis
  (``q``-logarithm) divergence, its ``tsallis_coeff`` ``q in [1, 2]`` (the authors re-parameterised
  it relative to the arXiv version); ``q = 1`` is the KL. Only the KL (``q = 1``) is implemented
  here, so every variant below is the KL-MDPO of the paper's equations, and results that the
  paper reports with ``q > 1`` are not reproduced by this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._deprecation import renamed_arguments
from .._iterative import Timer
from .._torch import mlp, require_torch, resolve_device, seed_torch, single_thread, to_numpy
from .._validation import check_choice, check_gamma, check_int, check_probability, check_real
from ..errors import InvalidArgumentError, InvalidModelError
from ..models import FiniteMDP
from ._nets import EpisodeTracker, NeuralResult, ReplayBuffer, discrete_agent_setup

__all__ = ["mdpo_exact_critic", "mdpo_off_policy", "mdpo_on_policy"]


def _policy_net(n_in: int, n_actions: int, hidden: tuple[int, ...], dev: Any, dtype: Any = None) -> Any:
    """An MLP whose last layer starts at zero: the initial policy is uniform, as exact MDPO's ``pi_0``."""
    torch = require_torch()
    net = mlp(n_in, n_actions, hidden, device=dev, dtype=dtype)
    with torch.no_grad():
        net[-1].weight.zero_()
        net[-1].bias.zero_()
    return net


def _kl(log_p: Any, log_q: Any) -> Any:
    """``KL(p || q)`` per row from log-probabilities (discrete)."""
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def _sample_action(rng: np.random.Generator, probs: Any) -> int:
    """One draw from a probability vector given as a (float32) tensor, by inverse CDF in float64."""
    cdf = np.cumsum(to_numpy(probs).astype(np.float64))
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), len(cdf) - 1))


def _step_size(t0: float, schedule: str, k: int, K: int) -> float:
    if schedule == "constant":
        return t0
    if schedule == "annealed":
        return t0 * (1.0 - k / K)
    raise InvalidArgumentError(f"schedule must be 'constant' or 'annealed', got {schedule!r}")


@renamed_arguments(n_iterations="max_iter")
def mdpo_exact_critic(
    mdp: FiniteMDP,
    *,
    step_size: float = 1.0,
    schedule: str = "constant",
    max_iter: int = 20,
    sgd_steps: int = 300,
    lr: float = 0.05,
    hidden: tuple[int, ...] = (),
    optimizer: str = "adam",
    seed: Any = None,
    device: Any = "auto",
) -> NeuralResult:
    r"""MDPO's policy step on a neural policy with one-hot state inputs and the *exact* critic.

    Iteration ``k``: compute ``A^{pi_k} = Q^{pi_k} - V^{pi_k}`` exactly
    (:func:`theory_rl.tabular.policy_value`), then take ``sgd_steps`` Adam steps on

    .. math::
        L(\theta) = -\frac1S \sum_s \Big[\sum_a \pi_\theta(a|s) A^{\pi_k}(s,a)
            - \frac{1}{t_k} \mathrm{KL}(\pi_\theta(\cdot|s) \,\|\, \pi_k(\cdot|s))\Big],

    the on-policy surrogate's expectation over ``a ~ pi_k`` written out
    (``E_{a~pi_k}[pi_theta/pi_k A] = sum_a pi_theta A``) and weighted uniformly over states. This
    isolates the part of MDPO that approximation changes, the inexact argmax over ``theta``: with
    ``hidden=()`` (a linear softmax, i.e. the tabular parameterisation) the iterates follow
    exact tabular MDPO to optimisation accuracy; with hidden layers they follow it as closely
    as ``sgd_steps`` of Adam allow. ``lambda = 0`` (no entropy term). ``optimizer="lbfgs"``
    replaces the ``sgd_steps`` Adam steps by at most ``sgd_steps`` L-BFGS iterations with a
    strong-Wolfe line search (far fewer evaluations to the same accuracy on this smooth problem).

    Parameters
    ----------
    mdp : FiniteMDP
        Without action masks.
    step_size, schedule
        ``t_k``: a constant ``step_size > 0``, or ``"annealed"``, ``t_k = step_size (1 - k/K)``.
    max_iter : int
        ``K``, the number of MDPO iterations (all are run), ``>= 1``. Called ``n_iterations``
        before 0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    sgd_steps, lr, hidden, optimizer
        The inner optimisation: ``sgd_steps`` steps of ``optimizer`` (``"adam"`` or ``"lbfgs"``)
        at learning rate ``lr`` on a softmax MLP with ``hidden`` layers.
    seed : int or numpy Generator, optional
    device : str or torch.device
        ``"auto"`` (the default: CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.

    Returns
    -------
    NeuralResult
        ``info["policies"]`` (``(K+1, S, A)``), ``info["values"]`` (``(K+1, S)``, exact values of
        the iterates), ``info["step_sizes"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from theory_rl import approx, envs
    >>> res = approx.mdpo_exact_critic(envs.random_mdp(3, 2, seed=0), max_iter=3, sgd_steps=20, seed=0, device="cpu")
    >>> pi = approx.tabular_policy(res.networks["policy"], 3, device="cpu")
    >>> bool(np.allclose(pi.sum(axis=1), 1.0))
    True
    """
    torch = require_torch()
    from ..tabular import policy_value, q_values

    dev = resolve_device(device)
    n_iterations = check_int(max_iter, "max_iter")
    sgd_steps = check_int(sgd_steps, "sgd_steps")
    check_choice(schedule, "schedule", ("constant", "annealed"))
    check_choice(optimizer, "optimizer", ("adam", "lbfgs"))
    lr = check_real(lr, "lr", low=0.0, low_open=True)
    step_size = check_real(step_size, "step_size", low=0.0, low_open=True)
    seed_torch(seed)
    S, A = mdp.n_states, mdp.n_actions
    if mdp.action_mask is not None:
        raise InvalidModelError("mdpo_exact_critic does not support action masks")
    with Timer() as timer, single_thread(dev):
        net = _policy_net(S, A, hidden, dev, torch.float64)
        x = torch.eye(S, dtype=torch.float64, device=dev)
        policies, values, steps = [], [], []
        for k in range(n_iterations + 1):
            with torch.no_grad():
                log_old = torch.log_softmax(net(x), dim=1)
            pi = to_numpy(log_old.exp())
            v = policy_value(mdp, pi)
            policies.append(pi)
            values.append(v)
            if k == n_iterations:
                break
            adv = torch.as_tensor(q_values(mdp, v) - v[:, None], dtype=torch.float64, device=dev)
            t = _step_size(step_size, schedule, k, n_iterations)
            steps.append(t)

            def closure(adv: Any = adv, log_old: Any = log_old, t: float = t) -> Any:
                net.zero_grad()
                log_p = torch.log_softmax(net(x), dim=1)
                loss = -((log_p.exp() * adv).sum(1) - _kl(log_p, log_old) / t).mean()
                loss.backward()
                return loss

            if optimizer == "lbfgs":
                opt = torch.optim.LBFGS(net.parameters(), lr=1.0, max_iter=sgd_steps, tolerance_grad=1e-12,
                                        tolerance_change=1e-15, line_search_fn="strong_wolfe")
                opt.step(closure)
            elif optimizer == "adam":
                opt = torch.optim.Adam(net.parameters(), lr=lr)
                for _ in range(sgd_steps):
                    opt.step(closure)
            else:
                raise InvalidArgumentError(f"optimizer must be 'adam' or 'lbfgs', got {optimizer!r}")
    return NeuralResult(
        networks={"policy": net}, episode_returns=np.empty(0), episode_steps=np.empty(0), method="mdpo_exact_critic",
        params={"step_size": step_size, "schedule": schedule, "max_iter": n_iterations, "sgd_steps": sgd_steps,
                "lr": lr, "hidden": list(hidden), "device": str(dev)},
        elapsed=timer.elapsed,
        info={"policies": np.asarray(policies), "values": np.asarray(values), "step_sizes": np.asarray(steps)},
    )


@renamed_arguments(n_iterations="max_iter")
def mdpo_on_policy(
    env: Any,
    *,
    gamma: float = 0.99,
    max_iter: int = 100,
    steps_per_batch: int = 2048,
    sgd_steps: int = 10,
    step_size: float = 1.0,
    schedule: str = "annealed",
    gae_lambda: float = 0.95,
    lr: float = 3e-4,
    value_lr: float = 1e-3,
    value_epochs: int = 5,
    minibatch_size: int = 64,
    hidden: tuple[int, ...] = (64, 64),
    normalize_advantages: bool = True,
    seed: Any = None,
    device: Any = "auto",
) -> NeuralResult:
    r"""On-policy MDPO (Tomar et al. 2022, Algorithm 1 with the paper's defaults), discrete actions.

    For ``k = 0..K-1``: collect ``steps_per_batch`` steps with ``pi_k``; estimate advantages by
    GAE(``gae_lambda``) from a learned ``V`` (Schulman et al. 2016; truncations bootstrap);
    fit ``V`` to the lambda-returns (``value_epochs`` epochs of minibatch Adam, lr ``value_lr``);
    then ``sgd_steps`` full-batch Adam steps on

    .. math::
        L(\theta) = -\hat{\mathbb E}_{(s,a)\sim\pi_k}\Big[\frac{\pi_\theta(a|s)}{\pi_k(a|s)} \hat A(s,a)\Big]
            + \frac{1}{t_k} \hat{\mathbb E}_s\big[\mathrm{KL}(\pi_\theta(\cdot|s) \,\|\, \pi_k(\cdot|s))\big],

    with the KL computed exactly over the discrete actions and ``t_k = t (1 - k/K)`` (the paper's
    annealing; ``schedule="constant"`` keeps ``t``).

    Parameters
    ----------
    env : gymnasium.Env
        Discrete actions.
    max_iter : int
        ``K``, the number of MDPO iterations (all are run), ``>= 1``. Called ``n_iterations``
        before 0.2.0 (still accepted until 0.3.0, with a ``DeprecationWarning``).
    seed : int or numpy Generator, optional
    device : str or torch.device
        ``"auto"`` (the default: CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.

    The other options are the paper's hyperparameters, named as above.

    Returns
    -------
    NeuralResult
        ``networks = {"policy": ..., "value": ...}``; ``info["kl"]`` the mean KL to ``pi_k`` after
        each iteration's policy steps.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> env = approx.TabularEnv(envs.chain(4), horizon=10)
    >>> res = approx.mdpo_on_policy(env, max_iter=2, steps_per_batch=20, sgd_steps=2, minibatch_size=10, hidden=(8,),
    ...                             seed=0, device="cpu")
    >>> type(res).__name__, len(res.episode_returns) > 0 <= 40
    ('NeuralResult', True)
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    n_iterations = check_int(max_iter, "max_iter")
    steps_per_batch, minibatch_size = check_int(steps_per_batch, "steps_per_batch"), check_int(minibatch_size,
                                                                                               "minibatch_size")
    sgd_steps, value_epochs = check_int(sgd_steps, "sgd_steps"), check_int(value_epochs, "value_epochs")
    lr, value_lr = check_real(lr, "lr", low=0.0, low_open=True), check_real(value_lr, "value_lr", low=0.0, low_open=True)
    step_size = check_real(step_size, "step_size", low=0.0, low_open=True)
    check_choice(schedule, "schedule", ("constant", "annealed"))
    gae_lambda = check_probability(gae_lambda, "gae_lambda")
    dev, rng, obs_dim, n_actions = discrete_agent_setup(env, seed, device, "mdpo_on_policy")
    with Timer() as timer, single_thread(dev):
        policy = _policy_net(obs_dim, n_actions, hidden, dev)
        value = mlp(obs_dim, 1, hidden, device=dev)
        p_opt = torch.optim.Adam(policy.parameters(), lr=lr)
        v_opt = torch.optim.Adam(value.parameters(), lr=value_lr)
        kls = []
        episodes = EpisodeTracker(env, rng)
        N = steps_per_batch
        for k in range(n_iterations):
            obs_b = np.zeros((N, obs_dim), dtype=np.float32)
            obs2_b = np.zeros((N, obs_dim), dtype=np.float32)
            acts = np.zeros(N, dtype=np.int64)
            rews = np.zeros(N, dtype=np.float32)
            term = np.zeros(N, dtype=np.float32)
            ended = np.zeros(N, dtype=np.float32)
            for i in range(N):
                with torch.no_grad():
                    probs = torch.softmax(policy(torch.as_tensor(episodes.obs, dtype=torch.float32, device=dev)), -1)
                a = _sample_action(rng, probs)
                obs, nxt, r, te, tr = episodes.step(a)
                obs_b[i], acts[i], rews[i], obs2_b[i], term[i], ended[i] = np.ravel(obs), a, r, np.ravel(nxt), te, te or tr
            ended[-1] = 1.0  # the batch cuts the last trajectory: bootstrap there
            Ot, O2t = torch.as_tensor(obs_b, device=dev), torch.as_tensor(obs2_b, device=dev)
            at = torch.as_tensor(acts, device=dev)
            with torch.no_grad():
                v, v2 = to_numpy(value(Ot).squeeze(1)), to_numpy(value(O2t).squeeze(1))
                delta = rews + gamma * (1 - term) * v2 - v
                adv_np = np.zeros(N, dtype=np.float32)
                running = 0.0
                for i in range(N - 1, -1, -1):  # GAE recursion, cut where an episode ended
                    running = delta[i] + gamma * gae_lambda * (1.0 - ended[i]) * running
                    adv_np[i] = running
                adv = torch.as_tensor(adv_np, device=dev)
                targets = adv + torch.as_tensor(v, device=dev)
                log_old = torch.log_softmax(policy(Ot), -1)
            for _ in range(value_epochs):
                perm = torch.as_tensor(rng.permutation(N), device=dev)
                for j in range(0, N, minibatch_size):
                    idx = perm[j:j + minibatch_size]
                    loss = (value(Ot[idx]).squeeze(1) - targets[idx]).pow(2).mean()
                    v_opt.zero_grad()
                    loss.backward()
                    v_opt.step()
            if normalize_advantages:
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
            t = _step_size(step_size, schedule, k, n_iterations)
            old_taken = log_old.gather(1, at.view(-1, 1)).squeeze(1)
            for _ in range(sgd_steps):
                log_p = torch.log_softmax(policy(Ot), -1)
                ratio = (log_p.gather(1, at.view(-1, 1)).squeeze(1) - old_taken).exp()
                kl = _kl(log_p, log_old).mean()
                loss = -(ratio * adv).mean() + kl / t
                p_opt.zero_grad()
                loss.backward()
                p_opt.step()
            kls.append(float(kl.detach()))
    return NeuralResult(
        networks={"policy": policy, "value": value}, episode_returns=np.asarray(episodes.returns),
        episode_steps=np.asarray(episodes.ends),
        method="mdpo_on_policy",
        params={"gamma": gamma, "max_iter": n_iterations, "steps_per_batch": steps_per_batch, "sgd_steps": sgd_steps,
                "step_size": step_size, "schedule": schedule, "gae_lambda": gae_lambda, "lr": lr, "device": str(dev)},
        elapsed=timer.elapsed, info={"kl": np.asarray(kls)},
    )


def mdpo_off_policy(
    env: Any,
    *,
    gamma: float = 0.99,
    total_steps: int = 50_000,
    step_size: float = 1.0,
    entropy: float = 0.01,
    old_policy_every: int = 1000,
    lr: float = 3e-4,
    critic_lr: float = 1e-3,
    tau: float = 0.005,
    batch_size: int = 64,
    buffer_size: int = 100_000,
    learning_starts: int = 1000,
    hidden: tuple[int, ...] = (64, 64),
    seed: Any = None,
    device: Any = "auto",
) -> NeuralResult:
    r"""Off-policy MDPO (Tomar et al. 2022, Algorithm 2), discrete-action form.

    A SAC-style learner (Haarnoja et al. 2018) whose policy loss carries MDPO's KL to an old
    policy ``pi_k`` that is refreshed every ``old_policy_every`` gradient steps (1000 in the
    paper's code, per the author's reply in the official repository's issue #1):

    .. math::
        L_\pi(\theta) = \mathbb E_{s\sim\mathcal D}\Big[\sum_a \pi_\theta(a|s)\big(\lambda \log\pi_\theta(a|s)
            - \min_j Q_j(s,a)\big)\Big] + \frac{1}{t}\, \mathbb E_{s\sim\mathcal D}
            \mathrm{KL}\big(\pi_\theta(\cdot|s) \,\|\, \pi_k(\cdot|s)\big),

    twin critics fitted to ``r + gamma (1-term) sum_a' pi(a'|s') (min_j Q'_j(s', a') - lambda log pi(a'|s'))``
    with Polyak-averaged targets ``Q'_j``. With discrete actions the expectations over ``a`` are
    exact sums (no reparameterisation). ``1/t = 0`` would be SAC's policy loss.

    Returns
    -------
    NeuralResult
        ``networks = {"policy", "q1", "q2"}``.

    Examples
    --------
    >>> from theory_rl import approx, envs
    >>> env = approx.TabularEnv(envs.chain(4), horizon=10)
    >>> res = approx.mdpo_off_policy(env, total_steps=60, learning_starts=20, batch_size=8, hidden=(8,), seed=0,
    ...                              device="cpu")
    >>> type(res).__name__, len(res.episode_returns) > 0
    ('NeuralResult', True)
    """
    torch = require_torch()
    gamma = check_gamma(gamma)
    total_steps = check_int(total_steps, "total_steps")
    batch_size, buffer_size = check_int(batch_size, "batch_size"), check_int(buffer_size, "buffer_size")
    learning_starts = check_int(learning_starts, "learning_starts", minimum=0)
    old_policy_every = check_int(old_policy_every, "old_policy_every")
    lr, critic_lr = check_real(lr, "lr", low=0.0, low_open=True), check_real(critic_lr, "critic_lr", low=0.0, low_open=True)
    tau, entropy = check_probability(tau, "tau"), check_real(entropy, "entropy", low=0.0)
    step_size = check_real(step_size, "step_size", low=0.0, low_open=True)
    dev, rng, obs_dim, n_actions = discrete_agent_setup(env, seed, device, "mdpo_off_policy")
    with Timer() as timer, single_thread(dev):
        policy = _policy_net(obs_dim, n_actions, hidden, dev)
        old = _policy_net(obs_dim, n_actions, hidden, dev)
        old.load_state_dict(policy.state_dict())
        critics = [mlp(obs_dim, n_actions, hidden, device=dev) for _ in range(2)]
        targets = [mlp(obs_dim, n_actions, hidden, device=dev) for _ in range(2)]
        for c, tg in zip(critics, targets):
            tg.load_state_dict(c.state_dict())
        p_opt = torch.optim.Adam(policy.parameters(), lr=lr)
        q_opt = torch.optim.Adam([p for c in critics for p in c.parameters()], lr=critic_lr)
        buffer = ReplayBuffer(buffer_size, obs_dim, rng)
        episodes = EpisodeTracker(env, rng)
        updates = 0
        for step in range(1, total_steps + 1):
            if step <= learning_starts:
                a = int(rng.integers(n_actions))
            else:
                with torch.no_grad():
                    probs = torch.softmax(policy(torch.as_tensor(episodes.obs, dtype=torch.float32, device=dev)), -1)
                a = _sample_action(rng, probs)
            obs, nxt, r, te, _ = episodes.step(a)
            buffer.add(np.ravel(obs), a, r, np.ravel(nxt), te)
            if step < learning_starts:
                continue
            o, act, rew, o2, d = buffer.sample(batch_size, dev)
            with torch.no_grad():
                log_p2 = torch.log_softmax(policy(o2), -1)
                q2 = torch.minimum(targets[0](o2), targets[1](o2))
                y = rew + gamma * (1 - d) * (log_p2.exp() * (q2 - entropy * log_p2)).sum(-1)
            q_loss = sum((c(o).gather(1, act.view(-1, 1)).squeeze(1) - y).pow(2).mean() for c in critics)
            q_opt.zero_grad()
            q_loss.backward()
            q_opt.step()
            log_p = torch.log_softmax(policy(o), -1)
            with torch.no_grad():
                q_min = torch.minimum(critics[0](o), critics[1](o))
                log_old = torch.log_softmax(old(o), -1)
            p_loss = (log_p.exp() * (entropy * log_p - q_min)).sum(-1).mean() + _kl(log_p, log_old).mean() / step_size
            p_opt.zero_grad()
            p_loss.backward()
            p_opt.step()
            with torch.no_grad():
                for c, tg in zip(critics, targets):
                    for pc, pt in zip(c.parameters(), tg.parameters()):
                        pt.mul_(1 - tau).add_(tau * pc)
            updates += 1
            if updates % old_policy_every == 0:
                old.load_state_dict(policy.state_dict())
    return NeuralResult(
        networks={"policy": policy, "q1": critics[0], "q2": critics[1]}, episode_returns=np.asarray(episodes.returns),
        episode_steps=np.asarray(episodes.ends), method="mdpo_off_policy",
        params={"gamma": gamma, "total_steps": total_steps, "step_size": step_size, "entropy": entropy,
                "old_policy_every": old_policy_every, "lr": lr, "device": str(dev)},
        elapsed=timer.elapsed,
    )
