r"""The networks of :func:`~theory_rl.approx.dyna_dqn`: ``K`` independent ELU networks per call
(one per seed) and the latent-variable world models of Young, Ramesh, Kirsch & Schmidhuber (2023)."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["BatchedMLP", "LatentModel"]

# The loss weights of the authors' released configurations (configs/*_latent_model.json):
# KL towards the prediction (moves the prediction) 0.8, KL towards the prediction moving the
# posterior 0.2; reward, termination and reconstruction 1 each.
KL_PRIOR_WEIGHT, KL_POSTERIOR_WEIGHT = 0.8, 0.2
MIN_SIGMA, ENCODER_MIN_STD = 1e-6, 0.1


def _stop_gradient(dist: tuple[Any, Any]) -> tuple[Any, Any]:
    """A latent distribution's parameters with the gradient stopped (``sg`` in the loss)."""
    return tuple(None if t is None else t.detach() for t in dist)  # type: ignore[return-value]


class BatchedMLP:
    """``K`` independent ELU networks evaluated in one batched matrix product per layer:
    ``x (K, N, n_in) -> (K, N, n_out)``. Initialised like ``torch.nn.Linear`` (uniform within
    ``1/sqrt(fan_in)``) from the generator ``gen``."""

    def __init__(self, torch: Any, k: int, sizes: list[int], gen: Any, device: Any) -> None:
        self.torch, self.layers = torch, []
        for n_in, n_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / np.sqrt(n_in)
            w = (torch.rand(k, n_in, n_out, generator=gen) * 2 - 1) * bound
            b = (torch.rand(k, 1, n_out, generator=gen) * 2 - 1) * bound
            self.layers.append((w.to(device).requires_grad_(), b.to(device).requires_grad_()))

    def parameters(self) -> list[Any]:
        return [p for layer in self.layers for p in layer]

    def copy_from(self, other: BatchedMLP) -> None:
        with self.torch.no_grad():
            for mine, theirs in zip(self.parameters(), other.parameters()):
                mine.copy_(theirs)

    def __call__(self, x: Any) -> Any:
        for j, (w, b) in enumerate(self.layers):
            x = self.torch.baddbmm(b, x, w)
            if j < len(self.layers) - 1:
                x = self.torch.nn.functional.elu(x)
        return x


class LatentModel:
    r"""The latent world model of the paper's Dyna agents, ``K`` seeds at once.

    Five networks (ELU, hidden layers ``hidden``): the encoder ``q(z | o)``, the transition
    ``p(z' | z, a)``, the reward mean ``r(z, a)`` (unit-variance Gaussian), the continuation
    logit ``c(z, a)`` and the decoder ``p(o | z)`` (a Bernoulli per observation bit). ``kind``:

    - ``"categorical"``: ``z`` is ``n_latents`` one-hot vectors of ``latent_classes`` classes,
      sampled with straight-through gradients (``z = p + sg(onehot - p)``);
    - ``"gaussian"``: ``z`` has ``n_latents`` reparameterised Gaussian coordinates,
      ``sigma = 2 sigmoid(x / 2)`` (plus ``0.1`` in the encoder).

    Loss per transition ``(o, a, r, o', done)`` with ``z ~ q(. | o)``:
    ``0.8 KL(sg q(.|o') || p(.|z, a)) + 0.2 KL(q(.|o') || sg p(.|z, a)) + (r - r(z,a))^2 / 2
    - log sigma(+-c(z, a)) - [not done] log p(o | z)``.
    """

    def __init__(self, torch: Any, k: int, kind: str, obs_dim: int, n_actions: int, hidden: tuple[int, ...],
                 n_latents: int, latent_classes: int, gen: Any, device: Any) -> None:
        self.torch, self.kind, self.n, self.c = torch, kind, n_latents, latent_classes
        self.z_dim = n_latents * latent_classes if kind == "categorical" else n_latents
        n_dist = self.z_dim if kind == "categorical" else 2 * n_latents
        za = self.z_dim + n_actions
        self.encoder = BatchedMLP(torch, k, [obs_dim, *hidden, n_dist], gen, device)
        self.transition = BatchedMLP(torch, k, [za, *hidden, n_dist], gen, device)
        self.reward = BatchedMLP(torch, k, [za, *hidden, 1], gen, device)
        self.continuation = BatchedMLP(torch, k, [za, *hidden, 1], gen, device)
        self.decoder = BatchedMLP(torch, k, [self.z_dim, *hidden, obs_dim], gen, device)
        self.nets = (self.encoder, self.transition, self.reward, self.continuation, self.decoder)

    def parameters(self) -> list[Any]:
        return [p for net in self.nets for p in net.parameters()]

    def _dist(self, out: Any, encoder: bool) -> tuple[Any, Any]:
        """(log-probabilities (.., n, classes), unused) or (mean, sigma) from a network output."""
        F = self.torch.nn.functional
        if self.kind == "categorical":
            return F.log_softmax(out.unflatten(-1, (self.n, self.c)), dim=-1), None
        mu, raw = out[..., :self.n], out[..., self.n:]
        sigma = (2.0 * self.torch.sigmoid(raw / 2.0)).clamp(min=MIN_SIGMA)
        return mu, sigma + ENCODER_MIN_STD if encoder else sigma

    def _sample(self, dist: tuple[Any, Any], noise: Any) -> Any:
        """A latent sample, differentiable in the distribution's parameters; ``noise`` uniform
        (categorical: Gumbel-max) or standard normal, shaped like the sample."""
        torch = self.torch
        first, sigma = dist
        if self.kind == "categorical":
            gumbel = -torch.log(-torch.log(noise.clamp(1e-12, 1.0)))
            onehot = torch.nn.functional.one_hot((first + gumbel).argmax(-1), self.c).to(first.dtype)
            probs = first.exp()
            return (probs + (onehot - probs).detach()).flatten(-2)
        return first + sigma * noise

    def _mode(self, dist: tuple[Any, Any]) -> Any:
        first, _ = dist
        if self.kind == "categorical":
            return self.torch.nn.functional.one_hot(first.argmax(-1), self.c).to(first.dtype).flatten(-2)
        return first

    def _noise(self, shape: tuple[int, ...], uniform: Any, normal: Any) -> Any:
        return uniform(*shape, self.n, self.c) if self.kind == "categorical" else normal(*shape, self.n)

    def _kl(self, p: tuple[Any, Any], q: tuple[Any, Any]) -> Any:
        """``KL(p || q)`` summed over the latent coordinates: shape of the batch."""
        if self.kind == "categorical":
            return (p[0].exp() * (p[0] - q[0])).sum(dim=(-2, -1))
        (m1, s1), (m2, s2) = p, q
        return (self.torch.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(-1)

    def encode(self, o: Any, uniform: Any, normal: Any) -> Any:
        """A sample ``z ~ q(. | o)`` (acting, and the first state of a rollout)."""
        dist = self._dist(self.encoder(o), encoder=True)
        return self._sample(dist, self._noise(o.shape[:-1], uniform, normal))

    def encode_mode(self, o: Any) -> Any:
        """The most likely latent (one-hot argmax, or the mean): the deterministic policy read-out."""
        return self._mode(self._dist(self.encoder(o), encoder=True))

    def step(self, z: Any, a_onehot: Any, uniform: Any, normal: Any) -> tuple[Any, Any, Any]:
        """One imagined step: reward mean, continuation probability, a sample of ``z'``."""
        za = self.torch.cat([z, a_onehot], dim=-1)
        dist = self._dist(self.transition(za), encoder=False)
        z2 = self._sample(dist, self._noise(z.shape[:-1], uniform, normal))
        return self.reward(za)[..., 0], self.torch.sigmoid(self.continuation(za)[..., 0]), z2

    def predict(self, o: Any, a_onehot: Any) -> tuple[Any, Any, Any]:
        """The model's most likely one-step outcome from observations ``o``: the decoder's bit
        probabilities of the next observation (from the transition's mode), the reward mean and the
        continuation probability."""
        za = self.torch.cat([self.encode_mode(o), a_onehot], dim=-1)
        z2 = self._mode(self._dist(self.transition(za), encoder=False))
        return (self.torch.sigmoid(self.decoder(z2)), self.reward(za)[..., 0],
                self.torch.sigmoid(self.continuation(za)[..., 0]))

    def loss(self, o: Any, a_onehot: Any, r: Any, o2: Any, done: Any, uniform: Any, normal: Any,
             episodic: bool) -> Any:
        """The per-transition loss above, shape ``(K, N)``."""
        torch, F = self.torch, self.torch.nn.functional
        z = self.encode(o, uniform, normal)
        za = torch.cat([z, a_onehot], dim=-1)
        post = self._dist(self.encoder(o2), encoder=True)
        prior = self._dist(self.transition(za), encoder=False)
        kl = KL_PRIOR_WEIGHT * self._kl(_stop_gradient(post), prior)
        kl = kl + KL_POSTERIOR_WEIGHT * self._kl(post, _stop_gradient(prior))
        recon = F.binary_cross_entropy_with_logits(self.decoder(z), o, reduction="none").sum(-1)
        loss = kl + 0.5 * (self.reward(za)[..., 0] - r) ** 2 + (1.0 - done) * recon
        if episodic:
            loss = loss + F.binary_cross_entropy_with_logits(self.continuation(za)[..., 0], 1.0 - done, reduction="none")
        return loss
