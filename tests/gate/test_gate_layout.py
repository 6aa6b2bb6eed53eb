"""P1: served = tested = signed. Anything a runtime could load instead of ``1/`` blocks."""

from __future__ import annotations

import shutil

import pytest
from _forge import failed
from _release import Release

from kfp_mlsecops.errors import GateRejected
from kfp_mlsecops.gate import run_gate
from kfp_mlsecops.signing import sign_model

pytestmark = pytest.mark.slow


def _blocked(release: Release) -> set[str]:
    release.approval.unlink(missing_ok=True)
    with pytest.raises(GateRejected, match="model_layout"):
        run_gate(**release.gate_kwargs(gate_seed=0))
    assert not release.approval.exists()
    return failed(release)


def _resign(release: Release) -> None:
    """A compromised signing step (or the store before signing): the new layout gets signed."""
    sign_model(release.model, release.signature, private_key_path=release.private_key)


def test_finding_2_an_empty_version_folder_is_outside_the_digest_but_blocks(
    fresh_release: Release,
) -> None:
    """TF Serving serves the highest version; an empty '2/' changes no digest and no signature."""
    (fresh_release.model / "2").mkdir()
    assert _blocked(fresh_release) == {"model_layout"}  # signature, evidence, attestation all pass


def test_finding_2_a_second_signed_version_blocks(fresh_release: Release) -> None:
    shutil.copytree(fresh_release.model / "1", fresh_release.model / "2")
    _resign(fresh_release)
    assert "model_layout" in _blocked(fresh_release)


@pytest.mark.parametrize(
    "extra",
    ["model.keras", "1/saved_model.pbtxt", "1/assets.extra/tf_serving_warmup_requests", "x.h5"],
)
def test_a_second_loadable_form_blocks_even_when_signed(fresh_release: Release, extra: str) -> None:
    path = fresh_release.model / extra
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"another model")
    _resign(fresh_release)
    assert "model_layout" in _blocked(fresh_release)


def test_an_empty_folder_inside_the_savedmodel_blocks(fresh_release: Release) -> None:
    (fresh_release.model / "1" / "assets").mkdir()
    assert _blocked(fresh_release) == {"model_layout"}
