"""The geometric (discrete Laplace) mechanism that makes released consent counts differentially private.

Mechanism.  A count ``c`` is released as ``c + Z`` where ``Z`` is two-sided
geometric: ``P(Z = z) = (1 - a) / (1 + a) * a ** |z|`` with ``a = exp(-eps_c)``.
It is drawn as the difference of two independent geometric draws (the number
of failures before a success of probability ``1 - a``), each by inversion
(``floor(ln U / ln a)``) from ``secrets.SystemRandom``, so an officer cannot
predict or replay the noise.  Tests and benchmarks pass a seeded
``random.Random`` instead.

Sensitivity.  For any two counts vectors that differ by one person's change,
``P(out | x) / P(out | y) <= exp(eps_c * ||x - y||_1)``, so noising every
count with ``eps_c = eps / D`` makes the whole release ``eps``-DP when no
single change moves the counts by more than ``D`` in total (L1).  A release
(``consent.stats``) holds, per group, the headcount, one count per data
category (N of them) and the "any category" count, for the overall group and
for each department.  One person is in exactly one department and in the
overall group, so:

* joining, leaving (deactivation, losing the employee role) moves at most
  ``1 + N + 1`` counts of their department and the same of the overall group
  by one each: ``2 * (N + 2)``;
* moving department moves ``N + 2`` counts of the old department and
  ``N + 2`` of the new one (the overall group is unchanged): ``2 * (N + 2)``;
* changing one's own choices moves at most ``N + 1`` counts in each of the
  two groups: less.

Hence ``D = 2 * (N + 2)`` (14 for the five categories today), and the
per-count scale is ``D / eps``.  Clamping and suppression happen after the
noise and look only at noised values: post-processing, which costs no privacy.
What this does not cover: releases compose, so ``k`` releases of unchanged
data are ``k * eps``-DP together (an attacker who averages many releases of
the same figures narrows the noise by ``sqrt(k)``).
"""

from __future__ import annotations

import math
import random
import secrets
from typing import Protocol


class UniformSource(Protocol):
    def random(self) -> float: ...


def system_rng() -> random.Random:
    """The operating system's CSPRNG: what production releases draw from."""
    return secrets.SystemRandom()


def release_sensitivity(categories: int) -> int:
    """L1 sensitivity of one release to one person's change (see the module docstring)."""
    return 2 * (categories + 2)


def alpha_for(*, epsilon: float, sensitivity: int) -> float:
    """The geometric parameter ``a = exp(-epsilon / sensitivity)`` that makes every count ``epsilon/sensitivity``-DP."""
    if not (epsilon > 0 and math.isfinite(epsilon)):
        raise ValueError("epsilon must be a positive finite number")
    if sensitivity < 1:
        raise ValueError("sensitivity must be at least 1")
    return math.exp(-epsilon / sensitivity)


def _geometric(alpha: float, rng: UniformSource) -> int:
    # Failures before the first success, P(k) = (1 - a) a^k, by inversion; 1 - random() lies in (0, 1].
    return math.floor(math.log(1.0 - rng.random()) / math.log(alpha))


def two_sided_geometric(alpha: float, rng: UniformSource) -> int:
    """One draw of discrete Laplace noise with parameter ``alpha``: the difference of two geometric draws."""
    return _geometric(alpha, rng) - _geometric(alpha, rng)


def noisy_count(count: int, *, alpha: float, rng: UniformSource) -> int:
    return count + two_sided_geometric(alpha, rng)


def tail_probability(alpha: float, t: int) -> float:
    """``P(|Z| > t)`` for two-sided geometric noise: ``2 a^(t+1) / (1 + a)``."""
    return 2 * alpha ** (t + 1) / (1 + alpha)


def interval_halfwidth(alpha: float, confidence: float = 0.95) -> int:
    """The smallest ``t`` with ``P(|Z| <= t) >= confidence``: a released count is within ``t`` of the truth that often."""
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    # Solve 2 a^(t+1) / (1 + a) <= 1 - confidence for the integer t, then step to be exact despite rounding.
    t = max(0, math.ceil(math.log((1 - confidence) * (1 + alpha) / 2) / math.log(alpha)) - 1)
    while t > 0 and tail_probability(alpha, t - 1) <= 1 - confidence:
        t -= 1
    while tail_probability(alpha, t) > 1 - confidence:
        t += 1
    return t
