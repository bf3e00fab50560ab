"""MAMQL against behaviour cloning and a tabular MA-AIRL on the Gems grid game (issue 22, part 3).

The expert is the soft (logit) equilibrium of ``envs.gems()`` at temperature ``tau``; demonstrations
are ``n_episodes`` sampled episodes of 20 steps (discounted visit counts), 5 seeds each. For every
method: the KL divergence from the expert's policy weighted by the expert's state occupancy
(``sum_s d_E(s) KL(pi_E(.|s) || pi(.|s))``, summed over the two agents) and the true returns of the
learned joint policy from the start state (sum over agents, and the expert's beside it). Reward
recovery (MAMQL and MA-AIRL, which return rewards): each agent's soft-optimal policy for its
recovered reward against the expert's other agent, scored the same way.

    .venv/bin/python bench/mamql.py            # writes bench/results/mamql.json
    .venv/bin/python bench/mamql.py --quick    # one seed, one size, writes nothing
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import with_provenance  # noqa: E402

from theory_rl import __version__, envs, tabular  # noqa: E402
from theory_rl.errors import ConvergenceWarning  # noqa: E402
from theory_rl.games import (  # noqa: E402
    behaviour_cloning,
    best_response_mdp,
    empirical_occupancy,
    joint_occupancy,
    ma_airl,
    mamql,
    soft_equilibrium,
)

TAU = 0.5
HORIZON = 20
MAMQL_ROUNDS = 10   # alternating rounds of per-agent IQ-Learn fits, 100 L-BFGS iterations each
AIRL_ROUNDS = 30    # generator-discriminator rounds, 5 discriminator steps each


def returns(game, policies):
    """Each agent's discounted return of the joint policy from ``d0``."""
    out = []
    for i in range(game.n_players):
        mdp = best_response_mdp(game, list(policies), i)
        P_pi = np.einsum("sat,sa->st", np.asarray(mdp.P), policies[i])
        v = tabular.solve_policy_system(P_pi, (np.asarray(mdp.R) * policies[i]).sum(axis=1), game.gamma)
        out.append(float(game.initial_distribution @ v))
    return out


def weighted_kl(d_state, expert, learned):
    """``sum_i sum_s d_E(s) KL(pi_E,i(.|s) || pi_i(.|s))``, learned probabilities floored at 1e-6
    (behaviour cloning by counts gives probability 0 to unseen expert actions: infinite KL)."""
    return float(sum((d_state[:, None] * e * (np.log(e) - np.log(np.maximum(p, 1e-6)))).sum()
                     for e, p in zip(expert, learned)))


def weighted_tv(d_state, expert, learned):
    """``sum_i sum_s d_E(s) TV(pi_E,i(.|s), pi_i(.|s))``."""
    return float(sum((d_state * 0.5 * np.abs(e - p).sum(axis=1)).sum() for e, p in zip(expert, learned)))


def reward_policies(game, rewards, expert):
    """Each agent's soft-optimal policy for its recovered reward against the expert's other agent."""
    out = []
    for i, r in enumerate(rewards):
        mdp = best_response_mdp(game, list(expert), i).replace(R=r)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            out.append(tabular.soft_value_iteration(mdp, temperature=TAU, tol=1e-8).policy)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    game = envs.gems()
    expert = soft_equilibrium(game, temperature=TAU, tol=1e-9).policies
    rho_exact = joint_occupancy(game, expert)
    d_state = rho_exact.reshape(game.n_states, -1).sum(axis=1)
    expert_return = sum(returns(game, expert))
    sizes = (10,) if args.quick else (10, 50, 250)
    seeds = (0,) if args.quick else tuple(range(5))
    rows = []
    for n in sizes:
        for seed in seeds:
            rho = empirical_occupancy(game, expert, n_episodes=n, horizon=HORIZON, seed=seed)
            t = time.perf_counter()
            bc = behaviour_cloning(rho).policies
            t_bc = time.perf_counter() - t
            t = time.perf_counter()
            mq = mamql(game, rho, temperature=TAU, f="chi2", alpha=0.5, tol=1e-6, max_iter=MAMQL_ROUNDS, n_steps=100)
            t_mq = time.perf_counter() - t
            t = time.perf_counter()
            ai = ma_airl(game, rho, temperature=TAU, max_iter=AIRL_ROUNDS)
            t_ai = time.perf_counter() - t
            for name, pols, rewards, secs in (("BC", bc, None, t_bc), ("MAMQL", mq.policies, mq.rewards, t_mq),
                                              ("MA-AIRL", ai.policies, ai.rewards, t_ai)):
                row = {"n_episodes": n, "seed": seed, "method": name, "seconds": secs,
                       "kl": weighted_kl(d_state, expert, pols), "tv": weighted_tv(d_state, expert, pols),
                       "return": sum(returns(game, pols))}
                if rewards is not None:
                    rp = reward_policies(game, rewards, expert)
                    row["reward_kl"] = weighted_kl(d_state, expert, rp)
                    row["reward_tv"] = weighted_tv(d_state, expert, rp)
                    row["reward_return"] = sum(returns(game, rp))
                rows.append(row)
                print(json.dumps(row), flush=True)
    summary = []
    for n in sizes:
        for name in ("BC", "MAMQL", "MA-AIRL"):
            sel = [r for r in rows if r["n_episodes"] == n and r["method"] == name]
            entry = {"n_episodes": n, "method": name}
            for key in ("kl", "tv", "return", "reward_kl", "reward_tv", "reward_return", "seconds"):
                vals = [r[key] for r in sel if key in r]
                if vals:
                    entry[key] = float(np.mean(vals))
                    entry[key + "_sd"] = float(np.std(vals))
            summary.append(entry)
    doc = with_provenance({
        "benchmark": "mamql", "game": "envs.gems() (3x3, 2 gems, slip 0.1, gamma 0.9, S=324)", "temperature": TAU,
        "horizon": HORIZON, "expert_return": expert_return, "mamql_rounds": MAMQL_ROUNDS, "mamql_n_steps": 100,
        "ma_airl_rounds": AIRL_ROUNDS, "machine": "shared 2-core CPU machine (nine jobs), OMP_NUM_THREADS=1", "summary": summary, "rows": rows,
        "theory_rl": __version__,
    })
    if not args.quick:
        out = Path(__file__).resolve().parent / "results" / "mamql.json"
        out.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {out}")
    for entry in summary:
        print(entry)


if __name__ == "__main__":
    main()
