"""Where a local sweep's next trial looks: grid, random or Bayesian (Optuna's TPE) search.

Every search is a function of the sweep and the trials so far, never of memory kept between
calls: a server that restarts mid-sweep asks again and goes on where the last one stopped.
Random and Bayesian searches are seeded by the sweep's id and the trial's number, so asking
twice for the same trial gives the same parameters.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import warnings
from collections.abc import Sequence

from .models import JobState, SweepParameter, SweepSpec, Trial

#: How many points of a double's range a grid search tries (evenly, in log space for log).
GRID_DOUBLE_POINTS = 5

Value = float | int | str


def grid_values(parameter: SweepParameter) -> list[Value]:
    """The values a grid search tries for one parameter."""
    if parameter.values is not None:
        return list(parameter.values)
    assert parameter.min is not None and parameter.max is not None
    low, high = parameter.min, parameter.max
    if parameter.type == "integer":
        return list(range(int(low), int(high) + 1))
    steps = GRID_DOUBLE_POINTS - 1
    if parameter.scale == "log":
        ratio = math.log(high / low)
        inner = [low * math.exp(ratio * i / steps) for i in range(1, steps)]
    else:
        inner = [low + (high - low) * i / steps for i in range(1, steps)]
    return [low, *inner, high]  # the ends exactly, never a rounding past them


def grid_size(sweep: SweepSpec) -> int:
    """Points in the sweep's grid (the cartesian product of every parameter's values)."""
    return math.prod(_axis_length(p) for p in sweep.parameters)


def _axis_length(parameter: SweepParameter) -> int:
    # Counted, not listed: an integer range of a million values is a number, not a list.
    if parameter.type == "integer" and parameter.values is None:
        assert parameter.min is not None and parameter.max is not None
        return int(parameter.max) - int(parameter.min) + 1
    return len(grid_values(parameter))


def planned_trials(sweep: SweepSpec) -> int:
    """How many trials the sweep runs: `max_trials`, or a grid's size when it has fewer points
    (a grid tries each point once)."""
    if sweep.algorithm == "grid":
        return min(sweep.max_trials, grid_size(sweep))
    return sweep.max_trials


def planned_parallel(sweep: SweepSpec) -> int:
    """How many trials run at once: `parallel_trials`, never more than the trials planned."""
    return min(sweep.parallel_trials, planned_trials(sweep))


def grid_point(sweep: SweepSpec, index: int) -> dict[str, Value] | None:
    """The grid's `index`-th point (the last parameter changes fastest); None past its end."""
    axes = [grid_values(p) for p in sweep.parameters]
    if index >= math.prod(len(axis) for axis in axes):
        return None
    point: dict[str, Value] = {}
    for parameter, axis in zip(reversed(sweep.parameters), reversed(axes), strict=True):
        index, position = divmod(index, len(axis))
        point[parameter.name] = axis[position]
    return {p.name: point[p.name] for p in sweep.parameters}


def _seed(sweep_id: str, number: int) -> int:
    digest = hashlib.sha256(f"{sweep_id}:{number}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


def random_point(sweep: SweepSpec, seed: int) -> dict[str, Value]:
    """Every parameter drawn at random: uniformly, or log-uniformly on a log scale."""
    draw = random.Random(seed)
    point: dict[str, Value] = {}
    for parameter in sweep.parameters:
        if parameter.values is not None:
            point[parameter.name] = draw.choice(parameter.values)
            continue
        assert parameter.min is not None and parameter.max is not None
        low, high = parameter.min, parameter.max
        if parameter.type == "integer" and parameter.scale == "linear":
            point[parameter.name] = draw.randint(int(low), int(high))
            continue
        if parameter.scale == "log":
            value = math.exp(draw.uniform(math.log(low), math.log(high)))
        else:
            value = draw.uniform(low, high)
        if parameter.type == "integer":
            point[parameter.name] = min(max(round(value), int(low)), int(high))
        else:
            point[parameter.name] = value
    return point


def bayes_point(sweep: SweepSpec, trials: Sequence[Trial], seed: int) -> dict[str, Value]:
    """The point Optuna's TPE sampler suggests after the trials so far (an in-memory study,
    rebuilt from them on every call)."""
    import optuna
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    distributions: dict[str, BaseDistribution] = {}
    for parameter in sweep.parameters:
        log = parameter.scale == "log"
        if parameter.values is not None:
            distributions[parameter.name] = CategoricalDistribution(parameter.values)
        elif parameter.type == "integer":
            assert parameter.min is not None and parameter.max is not None
            distributions[parameter.name] = IntDistribution(
                int(parameter.min), int(parameter.max), log=log
            )
        else:
            assert parameter.min is not None and parameter.max is not None
            distributions[parameter.name] = FloatDistribution(parameter.min, parameter.max, log=log)
    with warnings.catch_warnings():  # constant_liar is "experimental"; it is what we need
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        # Running trials count as bad guesses, so parallel trials do not all ask alike.
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
    study = optuna.create_study(direction=sweep.metric.goal, sampler=sampler)
    for trial in trials:
        params = _within(sweep, trial.parameters)
        if params is None:
            continue
        if trial.state is JobState.SUCCEEDED and trial.metric is not None:
            state, value = TrialState.COMPLETE, trial.metric
        elif trial.state.terminal:
            state, value = TrialState.FAIL, None
        else:
            state, value = TrialState.RUNNING, None
        study.add_trial(
            optuna.trial.create_trial(
                state=state, value=value, params=params, distributions=distributions
            )
        )
    asked = study.ask(distributions)
    return {p.name: asked.params[p.name] for p in sweep.parameters}


def _within(sweep: SweepSpec, parameters: dict[str, Value]) -> dict[str, Value] | None:
    """A trial's searched parameters, if each is one the sweep can suggest (None otherwise:
    the study leaves the trial out rather than refuse every later ask)."""
    params: dict[str, Value] = {}
    for parameter in sweep.parameters:
        value = parameters.get(parameter.name)
        if parameter.values is not None:
            if value not in parameter.values:
                return None
        elif isinstance(value, str) or value is None:
            return None
        else:
            assert parameter.min is not None and parameter.max is not None
            if not parameter.min <= value <= parameter.max:
                return None
            if parameter.type == "integer" and value != int(value):
                return None
        params[parameter.name] = value
    return params


def next_parameters(
    sweep: SweepSpec, sweep_id: str, number: int, trials: Sequence[Trial]
) -> dict[str, Value] | None:
    """The searched parameters of trial `number` (1, 2, ...); None when the grid is done."""
    if sweep.algorithm == "grid":
        return grid_point(sweep, number - 1)
    seed = _seed(sweep_id, number)
    if sweep.algorithm == "random":
        return random_point(sweep, seed)
    return bayes_point(sweep, trials, seed)
