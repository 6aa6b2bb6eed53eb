"""Gate test helpers: forge results the way a compromised attack-test step would.

The ``release``/``fresh_release`` fixtures (tests/conftest.py) give a real, approved chain. A
forger who controls attack-test (or the artifact store before attestation) writes internally
consistent results (figures recomputed from the per-sample bits) and gets them attested with
the real key, since attest-robustness signs what it is handed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from _release import Release

from kfp_mlsecops.attacks.results import RobustnessResults


def load(release: Release) -> RobustnessResults:
    return RobustnessResults.read(release.results)


def forge(
    release: Release, forged: RobustnessResults | dict[str, Any], *, attest: bool = True
) -> None:
    """Write forged results into the chain and (as a compromised step would) re-attest them."""
    doc = forged.to_dict() if isinstance(forged, RobustnessResults) else forged
    release.results.write_text(json.dumps(doc))
    if attest:
        release.attest()


def inflate(results: RobustnessResults, *, points: float, epsilon: float) -> RobustnessResults:
    """Claim robust ``points`` (a fraction of n) clean-correct samples the attacks broke at eps.

    The bits of every attack are set to survived at every epsilon up to ``epsilon``; the figures
    follow from the bits, so the document stays internally consistent.
    """
    worst = results.worst_case_survived(epsilon)
    candidates = np.flatnonzero(results.clean_correct & ~worst)
    count = math.ceil(points * results.n_samples)
    assert len(candidates) >= count, "not enough broken points to forge"
    chosen = candidates[:count]
    upto = [i for i, e in enumerate(results.epsilons) if e <= epsilon + 1e-9]
    outcomes = {}
    for name, bits in results.outcomes.items():
        edited = np.array(bits)
        for i in upto:
            edited[i, chosen] = True
        outcomes[name] = edited
    return dataclasses.replace(results, outcomes=outcomes)


def edit_json(
    release: Release, edit: Callable[[dict[str, Any]], None], *, attest: bool = True
) -> None:
    """Edit the raw results JSON (possibly breaking its consistency) and re-attest it."""
    doc = json.loads(release.results.read_text())
    edit(doc)
    forge(release, doc, attest=attest)


def decision(release: Release) -> dict[str, Any]:
    return json.loads(release.decision.read_text())


def failed(release: Release) -> set[str]:
    """Return the controls that failed for their own reason.

    Controls that failed only because re-derivation could not run are left out.
    """
    return {
        c["id"]
        for c in decision(release)["controls"]
        if c["passed"] is not True and not c["detail"].startswith("not re-derived")
    }
