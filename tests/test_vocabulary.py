"""One argument vocabulary across families (DESIGN.md section 4), read from every public signature.

Every parameter of every public function and class constructor (each subpackage's ``__all__``)
must be a vocabulary name or on the allow-list below, whose groups say why. Options are
keyword-only; only the groups marked ``positional=True`` (what is solved or computed, not how)
may be passed by position. Result records (returned, not built by users) are skipped, and dataclass constructors (models and
their parts) take their fields in order.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from typing import Any, NamedTuple

import pytest

SUBPACKAGES = (
    "models", "tabular", "learning", "dual", "pomdp", "robust", "approx", "combinatorial", "theory",
    "checks", "envs", "experiments", "games", "offline", "plot", "submodular", "families",
)

VOCABULARY = frozenset(
    {"tol", "max_iter", "n_episodes", "n_samples", "seed", "device", "time_limit", "progress", "callback", "strict"}
)

# Names that say a vocabulary word differently: never allowed, whatever the allow-list says.
DRIFT = {
    "eps": "tol (the accuracy asked for) or epsilon (a theorem's symbol, theory only)",
    "target_gap": "tol",
    "tolerance": "tol",
    "rng": "seed",
    "random_state": "seed",
    "n_iter": "max_iter",
    "n_iterations": "max_iter",
    "iterations": "max_iter",
    "n_backups": "max_iter",
    "maxiter": "max_iter",
    "episodes": "n_episodes",
    "num_episodes": "n_episodes",
    "verbose": "progress",
    "timeout": "time_limit",
}


class Group(NamedTuple):
    reason: str
    positional: bool
    names: frozenset[str]


def _group(reason: str, names: str, *, positional: bool = False) -> Group:
    return Group(reason, positional, frozenset(names.split()))


ALLOWED = (
    _group(
        "what is solved or computed, not how: models, datasets, policies, beliefs, value tables, "
        "networks and the arrays a helper maps",
        """mdp mdps model rmdp game cmdp cormab dataset expert suboptimal expert_batch suboptimal_batch
        pset psr task tasks cls env env_id policy pi b a o belief beliefs v q vectors table tables
        net qnet state states actions observations rewards reward next_states next_observations dones
        phi phi_next phi_sa phi_next_all d_offline d_expert d_suboptimal occupancy_measure behaviour
        behaviour_policy target_policy advantage stage_one_policies multipliers critics
        log_pi solution leaf p matrix text path op arr what name data layers x df fit fn grid seeds
        candidates upstream_models transitions emissions mask feasible inputs lower upper exact
        params theory_exponent replicate P_pi r_pi Q value evaluate similar x y objective teacher
        weights episode_starts next_action_mask expert_policy expert_fraction rollout_policy spec act
        strategies policies player distribution pomdp tree Phi cost target_return labels embedding
        z z_pair r r_pair z_next z_next_pair features r_hat r_hat_pair mean std mean_pair std_pair
        n_pos n_neg positives negatives phi_hat phi_star model_class maze""",
        positional=True,
    ),
    _group(
        "fields of the model classes and instance generators, named as in the model's mathematics "
        "(DESIGN section 3)",
        """P R T O gamma d0 b0 horizon action_mask state_names action_names observation_names
        initial_state operators normalizers core_tests members n_actions n_observations n_states
        core_actions radius kernels lo hi rectangularity restrict_to_support theta_box builder
        uncertainty nominal constraint_rewards thresholds constraint_names initial_states is_expert
        p_passive p_active constraint coupling domain budget n_arms n_stations n_lines
        graph source walk_length canonical_walks formulation equality costs capacities single_assignment
        arm_slots worker_slots per_arm n_slots n_interventions branching n_rows n_cols slip goal resolution
        step_reward goal_reward obstacles r1 r2 reward_range nnz_per_row n_inputs hidden wind
        n_engagement_levels n_items n_responses tightness nominal_wind max_wind rectangular p_one
        conjugate conjugate_positive ratio ratio_positive curvature curvature_positive strictly_convex
        sparse terminal probs theta initial_concentration target_concentration max_kl
        performance_lower_bound concentration_lower_bound target_kl_threshold temperature_bounds
        initial_temperature target_temperature descent_start_fraction descent_end_fraction max_mse
        temperature_lower_bound target_mse_threshold s_indices a_indices discount B payoffs depth children
        obs_prob terminated left_reward all_proper mu n_factors parents n_choices n_pipes spontaneous
        grid_size n_buttons episodic factors factor_names gems starts""",
        positional=True,
    ),
    _group(
        "parameters that define the objective or quantity computed (the divergence f and its weight "
        "alpha, the mixture weight beta, lambda of the implicit value, the step size a schedule is "
        "built from), named as in the paper",
        "f alpha beta lam step_size",
        positional=True,
    ),
    _group(
        "variables of a closed-form bound: the symbols of the theorem it evaluates (S, A, H, T, the "
        "theorem's epsilon and delta, ...)",
        "S A H n epsilon delta omega m h eta concentration rate shape_p rate_p shape_q rate_q",
        positional=True,
    ),
    _group(
        "algorithm parameters named as the paper names them (temperatures, divergence weights, "
        "confidence levels, bonus constants, step sizes)",
        """awr_beta c step entropy temperature betas beta_start beta_end exponent
        scale growth bonus bonus_scale zeta sigma0 tau gae_lambda per_alpha per_beta confidence
        previous_action s0 average_from clip v_unseen prune_growth sweep_fraction alpha0 ridge sharpness
        discount_threshold damping""",
    ),
    _group(
        "starting points and warm starts (the solver's own iterate names)",
        "v0 q0 w0 h0 x0 p0 policy0 theta0 multipliers0 init fallback warm_start witnesses stats",
    ),
    _group(
        "method choices, each a documented closed set",
        """variant stopping method linear_solver highs_method inner score oracle search sampling mode
        schedule layout optimizer kinds domains setting weighting clock start bounds normalized
        policy_first allow_masked nature coarse transport compress form use_time traces updating estimator lazy
        parameterisation representation encoder norm bisimulation_target context greedy pool_steps restart""",
    ),
    _group(
        "numerical tolerances that are not the certified accuracy asked for (model validation, LP "
        "pruning, rank decisions, renormalisation), named for what they test",
        "atol lp_tol rank_tol rcond renormalize_atol renormalize aperiodicity reference_state keep_first decimals",
    ),
    _group(
        "sizes and budgets of one algorithm that are not iterations of a convergent method, episodes "
        "or generative samples (belief-set sizes, tree searches, grids, epochs, gradient and "
        "environment steps as the deep-RL papers count them)",
        """n_per_pair n_epochs epoch_length recentering_samples n_expansions max_beliefs n_beliefs
        n_simulations n_particles max_depth n_steps total_steps n_stages n_grid n_grid_search
        n_grid_eval n_per_dim search_budget n_bisect n_models rank episode_length protagonist_steps
        evaluate_every n_discrete_actions n_random_states n_random_actions n_levels
        max_active max_candidates n_eval n_rounds max_histories max_policies n_keep max_rollouts
        max_contexts context_len max_trajectories k n_elites rcsl_steps""",
    ),
    _group(
        "neural-network and deep-RL training hyperparameters, named as in the papers and torch",
        """lr critic_lr value_lr lr_decay batch_size minibatch_size buffer_size learning_starts
        train_every target_update target_update_every max_grad_norm double sgd_steps steps_per_batch
        value_epochs normalize_advantages old_policy_every epochs pretrain_epochs pretrain_batch
        pretrain_lr prioritized update_priorities warm_fraction train_constraint published q_net
        v_net learner learner_kwargs exploration dtype torch_threads bisimulation_weight widths n_seeds weight_decay rcsl_hidden updates_per_step rollout_length model_lr
        n_latents latent_classes""",
    ),
    _group(
        "the data of a set function (submodular), named as in its formula: coverage incidence, "
        "similarities, kernels and covariances, observation noise and the kernel's length scale",
        "cover similarity kernel cov noise lengthscale",
        positional=True,
    ),
    _group(
        "MDP families (task underspecification): the family, its sampled parameters, the methods "
        "evaluated on it and their scores",
        "family methods point phis scores",
        positional=True,
    ),
    _group(
        "MDP family options: how many members, which score, the ranges of the parameters",
        "n_instances include_nominal layouts size reward_noise ks",
    ),
    _group(
        "MIP/LP backend options, named as the solvers name them",
        "solver mip_gap threads highs_options options big_m tighten check_big_m relax polish",
    ),
    _group(
        "file formats: what the file says and how it is read or written",
        "file comment lump_absorbing",
    ),
    _group(
        "hypothesis strategy bounds (checks)",
        """min_states max_states min_actions max_actions min_observations max_observations max_size
        min_arms max_arms max_budget masked""",
    ),
    _group(
        "sweeps, stores and plots (experiments), named as joblib, Dask and matplotlib name them",
        """store backend n_jobs chunk_size client scheduler threads_per_task fsync n_boot level root
        parameter ax label title color wait dry_run""",
    ),
    _group(
        "what a plotting helper draws (theory_rl.plot): the arrays or results shown",
        "values shape alphas curves history regret",
        positional=True,
    ),
    _group(
        "plot options named as matplotlib names them (axis labels) or as the statistic does (ci, the "
        "confidence level of a band)",
        "xlabel ylabel ci",
    ),
    _group(
        "diagnostics that change no answer (the truth, given only to record errors in the trace)",
        "q_star true_index v_true",
    ),
)

# Result records: returned by the library, not constructed with options.
RECORDS = frozenset({"Certificate", "OccupancyLP", "BairdCounterexample", "BoundExpression", "RateComparison",
                     "RateFit", "Task", "EmbeddedNetwork", "MipModel", "BackupResult", "StoreRepair",
                     "NashGap", "MarkovNashGap", "Coverage", "TrajectoryGame", "PointMaze"})

# epsilon is the accuracy asked for everywhere except in theorem formulas, where it is the symbol.
EPSILON_OK = frozenset({"theory"})


def _allowed() -> dict[str, Group]:
    out: dict[str, Group] = {}
    for group in ALLOWED:
        for name in group.names:
            assert name not in out, f"{name!r} is in two allow-list groups"
            assert name not in VOCABULARY, f"{name!r} is a vocabulary word; remove it from the allow-list"
            assert name not in DRIFT, f"{name!r} is drift; it cannot be allow-listed"
            out[name] = group
    return out


def _is_record(obj: Any) -> bool:
    name = obj.__name__
    return (dataclasses.is_dataclass(obj) and name.endswith(("Result", "Solution"))) or name in RECORDS


def public_callables() -> list[tuple[str, str, Any]]:
    out = []
    for package in SUBPACKAGES:
        module = importlib.import_module(f"theory_rl.{package}")
        for name in module.__all__:
            obj = getattr(module, name)
            if not callable(obj):
                continue
            if inspect.isclass(obj) and (issubclass(obj, BaseException) or _is_record(obj)):
                continue
            try:
                inspect.signature(obj)
            except (TypeError, ValueError):  # classes without an __init__ of their own
                continue
            out.append((package, name, obj))
    return out


def _parameters(obj: Any) -> list[inspect.Parameter]:
    return [p for p in inspect.signature(obj).parameters.values() if p.kind is not inspect.Parameter.VAR_POSITIONAL]


PUBLIC = public_callables()
IDS = [f"{package}.{name}" for package, name, _ in PUBLIC]


def test_the_survey_reads_every_family():
    assert len(PUBLIC) > 150
    assert {package for package, _, _ in PUBLIC} == set(SUBPACKAGES)


def vocabulary_problems(package: str, obj: Any) -> list[str]:
    """What is wrong with the option names of one public callable (empty when nothing)."""
    allowed = _allowed()
    problems = []
    for p in _parameters(obj):
        if p.name in DRIFT:
            problems.append(f"{p.name!r} is drift: use {DRIFT[p.name]}")
        elif p.name == "epsilon" and package not in EPSILON_OK:
            problems.append("'epsilon' outside theorem formulas: name it for what it is (tol for the accuracy)")
        elif p.name not in VOCABULARY and p.name not in allowed:
            problems.append(f"{p.name!r} is outside the vocabulary and not allow-listed")
    return problems


def positional_options(obj: Any) -> list[str]:
    """Options that can be passed by position (dataclass constructors take their fields in order)."""
    if dataclasses.is_dataclass(obj):  # a model's fields, in the order of its definition
        return []
    allowed = _allowed()
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in _parameters(obj)
        if p.kind in positional and (p.name not in allowed or not allowed[p.name].positional)
    ]


def device_and_accuracy_problems(package: str, obj: Any) -> list[str]:
    params = {p.name: p for p in _parameters(obj)}
    problems = [f"takes {name!r}" for name in ("rng", "eps") if name in params]
    if "device" in params and params["device"].default != "auto":
        problems.append(f"device defaults to {params['device'].default!r}")
    if "epsilon" in params and package not in EPSILON_OK:
        problems.append("takes 'epsilon' outside theorem formulas")
    return problems


@pytest.mark.parametrize(("package", "name", "obj"), PUBLIC, ids=IDS)
def test_every_option_name_is_in_the_vocabulary_or_allow_listed(package, name, obj):
    problems = vocabulary_problems(package, obj)
    assert not problems, f"{package}.{name}: " + "; ".join(problems)


@pytest.mark.parametrize(("package", "name", "obj"), PUBLIC, ids=IDS)
def test_options_are_keyword_only(package, name, obj):
    bad = positional_options(obj)
    assert not bad, f"{package}.{name}: options {bad} must be keyword-only (after *)"


@pytest.mark.parametrize(("package", "name", "obj"), PUBLIC, ids=IDS)
def test_no_rng_or_eps_and_device_defaults_to_auto(package, name, obj):
    problems = device_and_accuracy_problems(package, obj)
    assert not problems, f"{package}.{name}: " + "; ".join(problems)


def test_the_checks_catch_the_drift_they_are_for():
    def drifted(mdp, n_iter, *, eps=1e-6, rng=None, episodes=3, epsilon=0.1, device="cpu", frobnicate=1):
        return mdp

    def clean(mdp, *, tol=1e-6, max_iter=None, seed=None, n_episodes=3, device="auto"):
        return mdp

    found = " ".join(vocabulary_problems("robust", drifted))
    for word in ("'n_iter' is drift", "'eps' is drift", "'rng' is drift", "'episodes' is drift",
                 "'epsilon' outside", "'frobnicate' is outside"):
        assert word in found
    assert positional_options(drifted) == ["n_iter"]
    assert device_and_accuracy_problems("robust", drifted) == [
        "takes 'rng'", "takes 'eps'", "device defaults to 'cpu'", "takes 'epsilon' outside theorem formulas"]
    assert not vocabulary_problems("robust", clean) and not positional_options(clean)
    assert not device_and_accuracy_problems("robust", clean)
    assert not vocabulary_problems("theory", lambda S, A, epsilon: S)  # the theorem's own symbol


def test_the_allow_list_has_no_dead_entries():
    used = {p.name for _, _, obj in PUBLIC for p in _parameters(obj)}
    dead = sorted(set(_allowed()) - used)
    assert not dead, f"allow-listed names no public signature uses: {dead}"
