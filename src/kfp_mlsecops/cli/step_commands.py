"""One subcommand per pipeline step, so CI can run and gate without a cluster.

``mlsecops validate``, ``train``, ``attest``, ``gate`` and ``deploy`` take the component's
inputs as files and its parameters as flags (dashes for underscores) and call the same cores as
the components (``mlsecops attack``, ``sign`` and ``verify`` live in their own modules). Trust
options are those of ``mlsecops verify``; signing options those of ``mlsecops sign``.

Exit codes: 0 done (``gate``: approved), 3 blocked (``gate``: the decision is written and no
approval; ``deploy``: a check refused the release), 2 bad options, 1 any other error. Every
failure prints one line on stderr; the libraries are imported only when a command runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kfp_mlsecops import constants as C
from kfp_mlsecops.cli._args import (
    bounded_float,
    epsilon_list,
    finite_float,
    fraction,
    int_at_least,
)
from kfp_mlsecops.cli.signing_commands import (
    EXIT_BLOCKED,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    add_signing_options,
    add_trust_options,
    error_exit,
    signing_config,
    verification_config,
)
from kfp_mlsecops.data.formats import format_names
from kfp_mlsecops.errors import GateRejected, InvalidInputError, MLSecOpsError, VerificationError
from kfp_mlsecops.model_import.formats import model_format_names
from kfp_mlsecops.training.dp_sgd import DEFAULT_DELTA

__all__ = ["STEP_COMMANDS", "add_step_parsers"]


def _parser(subparsers: Any, name: str, help_text: str, description: str) -> Any:
    return subparsers.add_parser(
        name,
        help=help_text,
        description=description,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )


def _add_thresholds(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("policy thresholds (the floor may only tighten them)")
    group.add_argument("--min-clean-accuracy", type=fraction, required=True)
    group.add_argument("--min-robust-accuracy", type=fraction, required=True)
    group.add_argument("--robust-attack", default=C.WORST_CASE)
    group.add_argument("--robust-epsilon", type=finite_float, required=True)
    group.add_argument(
        "--allow-masking-flag",
        dest="allow_masking_flags",
        action="append",
        default=[],
        choices=C.MASKING_FLAGS,
        metavar="FLAG",
        help="a gradient-masking flag to waive (repeatable; the floor decides which may be)",
    )


def _policy(args: argparse.Namespace) -> Any:
    from kfp_mlsecops.policy import Policy

    return Policy(
        min_clean_accuracy=args.min_clean_accuracy,
        min_robust_accuracy=args.min_robust_accuracy,
        robust_attack=args.robust_attack,
        robust_epsilon=args.robust_epsilon,
        allow_masking_flags=tuple(args.allow_masking_flags),
    )


def _method(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--method",
        choices=C.SIGNING_METHODS,
        default=C.SIGNING_METHOD_KEY,
        help="how the model is signed (as in 'mlsecops sign' / 'mlsecops verify')",
    )


def _add_dp_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dp-noise-multiplier",
        type=bounded_float(at_least=0.0),
        default=0.0,
        help="train with DP-SGD: Gaussian noise std / clip norm (0: off, plain training)",
    )
    p.add_argument(
        "--dp-l2-norm-clip",
        type=bounded_float(above=0.0),
        default=1.0,
        help="DP-SGD: each example's gradient is clipped to this L2 norm",
    )
    p.add_argument(
        "--dp-delta",
        type=bounded_float(above=0.0, below=1.0),
        default=DEFAULT_DELTA,
        help="DP-SGD: the delta epsilon is reported at; must be below 1/(training examples)",
    )


def add_step_parsers(subparsers: Any) -> None:
    """Add ``validate``, ``train``, ``attest``, ``gate`` and ``deploy`` to ``mlsecops``."""
    p = _parser(
        subparsers,
        "validate",
        "validate a dataset and write the train/test split (validate-data step)",
        "Validate 'digits', an NPZ, a CSV or Parquet table, or a folder of PNG/JPEG images "
        "(one sub-folder per class) and write train.npz, test.npz, report.json, report.md and "
        "manifest.json into --out-dir; prints the dataset digest and the test split's digest "
        "(what the gate binds).",
    )
    p.add_argument(
        "--data", default="digits", help="'digits', an .npz, a .csv/.parquet or an image folder"
    )
    p.add_argument("--out-dir", type=Path, required=True, metavar="DIR")
    p.add_argument(
        "--dataset-format",
        choices=format_names(),
        default=None,
        help="the format of --data (default: recognised by suffix or folder)",
    )
    p.add_argument("--label-column", default="label", help="a table's label column")
    p.add_argument(
        "--evaluation-only",
        action="store_true",
        help="keep every sample as the test split (no train split): evaluate a model trained "
        "elsewhere",
    )
    p.add_argument("--test-fraction", type=fraction, default=0.2)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--value-min", type=finite_float, default=0.0)
    p.add_argument("--value-max", type=finite_float, default=1.0, help="255 for 8-bit images")
    p.add_argument("--num-classes", type=int_at_least(0), default=0, help="0: infer")

    p = _parser(
        subparsers,
        "train",
        "train a Keras model on a validated split (train step)",
        "Train on the split from 'mlsecops validate' and write the servable model folder "
        "(SavedModel 1/, provenance.json, reference_stats.json) to --model-out.",
    )
    p.add_argument("--train-data", type=Path, required=True, metavar="NPZ")
    p.add_argument("--test-data", type=Path, required=True, metavar="NPZ")
    p.add_argument("--data-digest", required=True, metavar="sha256:HEX")
    p.add_argument("--model-out", type=Path, required=True, metavar="DIR")
    p.add_argument("--epochs", type=int_at_least(1), default=5)
    p.add_argument("--batch-size", type=int_at_least(1), default=64)
    p.add_argument("--learning-rate", type=finite_float, default=0.001)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    p.add_argument("--adversarial", choices=("none", "pgd", "fgsm_rs"), default="none")
    p.add_argument("--adv-epsilon", type=finite_float, default=0.2)
    p.add_argument("--adv-steps", type=int_at_least(1), default=10)
    _add_dp_arguments(p)

    p = _parser(
        subparsers,
        "import-model",
        "bring a model trained elsewhere into the servable layout (import-model step)",
        "Load a Keras 3 classifier (.keras, safe_mode) or a TensorFlow SavedModel "
        "(serving_default signature; a TF Serving folder with one version), check it on the "
        "test split from 'mlsecops validate --evaluation-only', and write it to --model-out as "
        "the one servable SavedModel 1/ that attack, gate, deploy and serve use. Sign, attack, "
        "attest, gate and deploy it as a trained model.",
    )
    p.add_argument("--model", type=Path, required=True, metavar="PATH")
    p.add_argument("--test-data", type=Path, required=True, metavar="NPZ")
    p.add_argument("--model-out", type=Path, required=True, metavar="DIR")
    p.add_argument(
        "--model-format",
        choices=model_format_names(),
        default=None,
        help="default: recognised from the path",
    )

    p = _parser(
        subparsers,
        "attest",
        "sign a robustness attestation of attack results (attest-robustness step)",
        "Sign an in-toto Statement binding the results of 'mlsecops attack' to the model, "
        "with the same method and material as 'mlsecops sign' (--private-key for the key "
        "method).",
    )
    p.add_argument("--model", type=Path, required=True, metavar="DIR")
    p.add_argument("--results", type=Path, required=True, metavar="JSON")
    p.add_argument("--data-digest", required=True, metavar="sha256:HEX")
    p.add_argument("--attestation-out", type=Path, required=True, metavar="FILE")
    p.add_argument("--eps", dest="epsilons", type=epsilon_list, default=[0.05, 0.1, 0.2])
    p.add_argument("--tier", choices=C.TIERS, default=C.TIER_FAST)
    p.add_argument("--pgd-steps", type=int_at_least(1), default=20)
    p.add_argument("--seed", type=int_at_least(0), default=0)
    _add_thresholds(p)
    _method(p)
    add_signing_options(p)

    p = _parser(
        subparsers,
        "gate",
        "re-derive the evidence, apply the policy floor, sign an approval (gate step)",
        "Run every gate control on the model, its signature, the attack results, the "
        "attestation and validate-data's test split; write the decision to --decision-out and, "
        "only when approved, the approval signed with --approval-key to --approval-out. "
        "Exit 0 approved, 3 blocked.",
    )
    p.add_argument("--model", type=Path, required=True, metavar="DIR")
    p.add_argument("--signature", type=Path, required=True, metavar="FILE")
    p.add_argument("--results", type=Path, required=True, metavar="JSON")
    p.add_argument("--attestation", type=Path, required=True, metavar="FILE")
    p.add_argument("--test-data", type=Path, required=True, metavar="NPZ")
    p.add_argument("--test-data-digest", required=True, metavar="sha256:HEX")
    p.add_argument(
        "--policy", type=Path, default=None, metavar="FILE", help="policy floor (default: built-in)"
    )
    p.add_argument("--approval-key", type=Path, required=True, metavar="PEM")
    p.add_argument("--decision-out", type=Path, required=True, metavar="JSON")
    p.add_argument("--report-out", type=Path, default=None, metavar="MD")
    p.add_argument("--approval-out", type=Path, default=None, metavar="FILE")
    p.add_argument("--gate-seed", type=int_at_least(0), default=None, help="default: random")
    _add_thresholds(p)
    _method(p)
    add_trust_options(p)

    p = _parser(
        subparsers,
        "deploy",
        "re-check the signed approval and render or apply the InferenceService (deploy step)",
        "Verify the gate's approval (with --approval-public-key) for exactly this model, the "
        "policy floor, the evidence files and the numbers, then write the manifest (dry-run) or "
        "apply it. Exit 3 when a check refuses the release.",
    )
    p.add_argument("--model", type=Path, required=True, metavar="DIR")
    p.add_argument("--model-uri", default=None, help="where KServe pulls it (default: --model)")
    p.add_argument("--approval", type=Path, required=True, metavar="FILE")
    p.add_argument("--signature", type=Path, required=True, metavar="FILE")
    p.add_argument("--attestation", type=Path, required=True, metavar="FILE")
    p.add_argument("--approval-public-key", type=Path, required=True, metavar="PEM")
    p.add_argument(
        "--policy", type=Path, default=None, metavar="FILE", help="policy floor (default: built-in)"
    )
    p.add_argument("--service-name", required=True)
    p.add_argument("--namespace", required=True)
    p.add_argument("--mode", choices=("dry-run", "apply"), default="dry-run")
    p.add_argument("--manifest-out", type=Path, required=True, metavar="YAML")
    p.add_argument("--predictor", choices=C.PREDICTORS, default=C.PREDICTOR_VERIFIED)
    p.add_argument("--predictor-image", default=C.DEFAULT_PREDICTOR_IMAGE)
    p.add_argument("--verify-configmap", default="")
    p.add_argument("--service-account", default="")
    p.add_argument(
        "--wait-timeout",
        type=float,
        default=float(C.DEPLOY_WAIT_SECONDS),
        metavar="SECONDS",
        help="apply: wait this long for the new revision to be Ready, else roll back (0: no wait)",
    )
    p.add_argument(
        "--canary-traffic-percent",
        type=int,
        default=None,
        metavar="PCT",
        help="render KServe's canaryTrafficPercent (0-100; only Serverless mode splits traffic)",
    )
    _method(p)
    add_trust_options(p)


def _run_validate(args: argparse.Namespace) -> int:
    from kfp_mlsecops.data import run_validate_data

    out: Path = args.out_dir
    outcome = run_validate_data(
        source=args.data,
        train_path=out / "train.npz",
        test_path=out / "test.npz",
        report_json_path=out / "report.json",
        report_md_path=out / "report.md",
        manifest_path=out / "manifest.json",
        dataset_format=args.dataset_format or "",
        label_column=args.label_column,
        test_fraction=args.test_fraction,
        seed=args.seed,
        value_min=args.value_min,
        value_max=args.value_max,
        num_classes=args.num_classes,
        evaluation_only=args.evaluation_only,
    )
    print(f"data_digest {outcome.data_digest}")
    print(f"test_data_digest {outcome.test_digest}")
    print(f"mlsecops validate: wrote the split and reports to '{out}'", file=sys.stderr)
    return EXIT_OK


def _run_train(args: argparse.Namespace) -> int:
    from kfp_mlsecops.training import train_model

    result = train_model(
        train_path=args.train_data,
        test_path=args.test_data,
        model_dir=args.model_out,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        data_digest=args.data_digest,
        adversarial=args.adversarial,
        adv_epsilon=args.adv_epsilon,
        adv_steps=args.adv_steps,
        dp_noise_multiplier=args.dp_noise_multiplier,
        dp_l2_norm_clip=args.dp_l2_norm_clip,
        dp_delta=args.dp_delta,
    )
    privacy = (
        ""
        if result.dp_epsilon is None
        else f"; DP-SGD epsilon {result.dp_epsilon:.4g} at delta {result.dp_delta:g}"
    )
    print(f"mlsecops train: accuracy {result.accuracy:.4f}{privacy}; model in '{args.model_out}'")
    return EXIT_OK


def _run_import_model(args: argparse.Namespace) -> int:
    from kfp_mlsecops.model_import import import_model

    result = import_model(
        source=args.model,
        model_dir=args.model_out,
        test_path=args.test_data,
        model_format=args.model_format or "",
    )
    print(
        f"mlsecops import-model: {result.model_format} model, {result.n_classes} classes, "
        f"{result.output_kind}; servable model in '{args.model_out}'"
    )
    return EXIT_OK


def _run_attest(args: argparse.Namespace) -> int:
    from kfp_mlsecops.attestation import create_attestation

    digest = create_attestation(
        model_dir=args.model,
        results_path=args.results,
        policy=_policy(args).to_dict(),
        data_digest=args.data_digest,
        attack_config={
            "tier": args.tier,
            "epsilons": [float(e) for e in args.epsilons],
            "pgd_steps": args.pgd_steps,
            "seed": args.seed,
        },
        signing=signing_config(args),
        out_path=args.attestation_out,
    )
    print(digest)
    print(f"mlsecops attest: wrote '{args.attestation_out}'", file=sys.stderr)
    return EXIT_OK


def _run_gate(args: argparse.Namespace) -> int:
    from kfp_mlsecops.gate import run_gate
    from kfp_mlsecops.signing import SigningConfig

    decision = args.decision_out
    report = args.report_out or decision.with_suffix(".md")
    approval = args.approval_out or decision.with_name("approval.json")
    try:
        approved = run_gate(
            model_dir=args.model,
            signature_path=args.signature,
            results_path=args.results,
            attestation_path=args.attestation,
            test_data_path=args.test_data,
            test_data_digest=args.test_data_digest,
            policy=_policy(args),
            floor_path=args.policy,
            approval_signing=SigningConfig().use_key(private_key_path=args.approval_key),
            approval_path=approval,
            verification=verification_config(args),
            decision_json_path=decision,
            decision_md_path=report,
            gate_seed=args.gate_seed,
        )
    except GateRejected as e:
        return error_exit("gate", "BLOCKED", e, EXIT_BLOCKED)
    print(approved.model_digest)
    print(f"mlsecops gate: APPROVED; signed approval '{approval}'", file=sys.stderr)
    return EXIT_OK


def _run_deploy(args: argparse.Namespace) -> int:
    from kfp_mlsecops.deploy import PredictorTrust, run_deploy

    verified = args.predictor == C.PREDICTOR_VERIFIED
    try:
        result = run_deploy(
            model_dir=args.model,
            model_uri=args.model_uri or str(args.model),
            approval_path=args.approval,
            signature_path=args.signature,
            attestation_path=args.attestation,
            floor_path=args.policy,
            approval_public_key_path=args.approval_public_key,
            verification=verification_config(args),
            name=args.service_name,
            namespace=args.namespace,
            mode=args.mode,
            manifest_path=args.manifest_out,
            service_account=args.service_account or None,
            predictor=args.predictor,
            predictor_trust=PredictorTrust.from_method(
                args.method,
                configmap=args.verify_configmap,
                identity=args.identity,
                issuer=args.issuer,
            )
            if verified
            else None,
            predictor_image=args.predictor_image,
            wait_timeout=args.wait_timeout,
            canary_traffic_percent=args.canary_traffic_percent,
        )
    except VerificationError as e:
        return error_exit("deploy", "REFUSED", e, EXIT_BLOCKED)
    ready = f"; {result.detail}" if result.detail else ""
    print(
        f"mlsecops deploy: {result.status}: {result.manifest_path} ({result.model_digest}){ready}"
    )
    return EXIT_OK


def _guarded(name: str, run: Any) -> Any:
    def command(args: argparse.Namespace) -> int:
        try:
            return int(run(args))
        except InvalidInputError as e:
            return error_exit(name, "error", e, EXIT_USAGE)
        except MLSecOpsError as e:
            return error_exit(name, "error", e, EXIT_ERROR)

    return command


#: Subcommand name -> handler (wired into ``mlsecops`` by :mod:`kfp_mlsecops.cli.main`).
STEP_COMMANDS = {
    "validate": _guarded("validate", _run_validate),
    "train": _guarded("train", _run_train),
    "import-model": _guarded("import-model", _run_import_model),
    "attest": _guarded("attest", _run_attest),
    "gate": _guarded("gate", _run_gate),
    "deploy": _guarded("deploy", _run_deploy),
}
