"""A real release chain for the tests: validate -> train -> attack -> sign -> attest -> gate.

Built once per session from the cores the components call (no mocks), then copied per test so
a test can tamper with any file. Shared by the gate, deploy, serving and CLI tests through the
``release`` fixture of tests/conftest.py.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from kfp_mlsecops.policy import Policy

#: The run policy the chain is gated with (the built-in floor applies under it).
POLICY = Policy(
    min_clean_accuracy=0.9, min_robust_accuracy=0.5, robust_attack="worst_case", robust_epsilon=0.05
)
EPSILONS = (0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Release:
    """Every file of one model's way to release (paths under ``root``)."""

    root: Path
    train_split: Path
    test_split: Path
    data_digest: str
    test_digest: str
    model: Path
    private_key: Path
    public_key: Path
    approval_key: Path
    approval_public_key: Path
    signature: Path
    digest: str
    results: Path
    report: Path
    attestation: Path
    decision: Path
    decision_md: Path
    approval: Path

    def copy(self, target: Path) -> Release:
        """Return a copy of the whole chain under ``target`` (for tests that tamper)."""
        shutil.copytree(self.root, target)
        moved: dict[str, Any] = {
            f.name: target / getattr(self, f.name).relative_to(self.root)
            for f in fields(self)
            if isinstance(getattr(self, f.name), Path) and f.name != "root"
        }
        return replace(self, root=target, **moved)

    def gate_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments of ``run_gate`` for this chain (override any)."""
        from kfp_mlsecops.signing import SigningConfig

        kwargs: dict[str, Any] = {
            "model_dir": self.model,
            "signature_path": self.signature,
            "results_path": self.results,
            "attestation_path": self.attestation,
            "test_data_path": self.test_split,
            "test_data_digest": self.test_digest,
            "policy": POLICY,
            "floor_path": None,
            "approval_signing": SigningConfig().use_key(private_key_path=self.approval_key),
            "approval_path": self.approval,
            "decision_json_path": self.decision,
            "decision_md_path": self.decision_md,
            "public_key_path": self.public_key,
        }
        kwargs.update(overrides)
        return kwargs

    def reissue(self, *, gate: bool = True) -> Release:
        """Re-run attack-test, signing, attestation (and the gate) on the model as it is now.

        For tests that change the model legitimately (e.g. drop a file) and need it approved.
        """
        from kfp_mlsecops.attacks.report import run_attack_test
        from kfp_mlsecops.gate import run_gate
        from kfp_mlsecops.signing import sign_model

        run_attack_test(
            model_path=self.model,
            test_path=self.test_split,
            results_path=self.results,
            report_md_path=self.report,
            epsilons=list(EPSILONS),
        )
        digest = sign_model(self.model, self.signature, private_key_path=self.private_key)
        issued = replace(self, digest=digest)
        issued.attest()
        if gate:
            run_gate(**issued.gate_kwargs(gate_seed=0))
        return issued

    def attest(self, **overrides: Any) -> Path:
        """(Re-)sign the robustness attestation of ``self.results`` for ``self.model``."""
        from kfp_mlsecops.attestation import create_attestation

        kwargs: dict[str, Any] = {
            "model_dir": self.model,
            "results_path": self.results,
            "policy": POLICY.to_dict(),
            "data_digest": self.data_digest,
            "attack_config": {"tier": "fast", "epsilons": list(EPSILONS), "pgd_steps": 20},
            "private_key_path": self.private_key,
            "out_path": self.attestation,
        }
        kwargs.update(overrides)
        create_attestation(**kwargs)
        return self.attestation


def build_release(
    root: Path,
    *,
    epochs: int = 3,
    seed: int = 0,
    adversarial: str = "none",
    tier: str = "fast",
    gate: bool = True,
) -> Release:
    """Run the real chain on sklearn's digits under ``root`` and return its files."""
    from kfp_mlsecops.attacks.report import run_attack_test
    from kfp_mlsecops.data import run_validate_data
    from kfp_mlsecops.gate import run_gate
    from kfp_mlsecops.signing import generate_key_pair, sign_model
    from kfp_mlsecops.training import train_model

    data = root / "data"
    outcome = run_validate_data(
        source="digits",
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        report_json_path=data / "report.json",
        report_md_path=data / "report.md",
        manifest_path=data / "manifest.json",
        seed=seed,
    )
    keys = root / "keys"
    generate_key_pair(keys / "private-key.pem", keys / "public-key.pem")
    generate_key_pair(keys / "approval-private-key.pem", keys / "approval-public-key.pem")
    model = root / "model"
    train_model(
        train_path=data / "train.npz",
        test_path=data / "test.npz",
        model_dir=model,
        epochs=epochs,
        seed=seed,
        data_digest=outcome.data_digest,
        adversarial=adversarial,
    )
    evidence = root / "evidence"
    run_attack_test(
        model_path=model,
        test_path=data / "test.npz",
        results_path=evidence / "results.json",
        report_md_path=evidence / "report.md",
        epsilons=list(EPSILONS),
        tier=tier,
        seed=seed,
    )
    digest = sign_model(model, evidence / "model.sig", private_key_path=keys / "private-key.pem")
    release = Release(
        root=root,
        train_split=data / "train.npz",
        test_split=data / "test.npz",
        data_digest=outcome.data_digest,
        test_digest=outcome.test_digest,
        model=model,
        private_key=keys / "private-key.pem",
        public_key=keys / "public-key.pem",
        approval_key=keys / "approval-private-key.pem",
        approval_public_key=keys / "approval-public-key.pem",
        signature=evidence / "model.sig",
        digest=digest,
        results=evidence / "results.json",
        report=evidence / "report.md",
        attestation=evidence / "attestation.json",
        decision=root / "gate" / "decision.json",
        decision_md=root / "gate" / "decision.md",
        approval=root / "gate" / "approval.json",
    )
    release.attest(attack_config={"tier": tier, "epsilons": list(EPSILONS), "pgd_steps": 20})
    if gate:
        run_gate(**release.gate_kwargs(gate_seed=seed))
    return release
