"""The ``mlsecops`` command line: run, one command per step, verify, serve, compile, submit."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from kfp_mlsecops import __version__
from kfp_mlsecops import constants as C
from kfp_mlsecops._exit_codes import EXIT_BLOCKED, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from kfp_mlsecops.cli._args import (
    bounded_float,
    epsilon_list,
    finite_float,
    fraction,
    int_at_least,
)
from kfp_mlsecops.cli.audit_commands import add_audit_parser, run_audit
from kfp_mlsecops.cli.check_command import add_check_parser, run_check
from kfp_mlsecops.cli.explanations_command import add_explanations_parser, run_explanations
from kfp_mlsecops.cli.poisoning_command import add_poisoning_parser, run_poisoning
from kfp_mlsecops.cli.privacy_command import add_privacy_parser, run_privacy
from kfp_mlsecops.cli.serve_command import add_serve_parser, run_serve
from kfp_mlsecops.cli.signing_commands import (
    add_sign_parser,
    add_verify_parser,
    run_sign,
    run_verify,
)
from kfp_mlsecops.cli.step_commands import STEP_COMMANDS, add_step_parsers
from kfp_mlsecops.data.formats import format_names
from kfp_mlsecops.errors import GateRejected, InvalidInputError, MLSecOpsError
from kfp_mlsecops.model_import.formats import model_format_names
from kfp_mlsecops.training.adversarial import ADVERSARIAL_METHODS

__all__ = ["main"]


def _epsilon_keys(text: str) -> str:
    from kfp_mlsecops.cli.attack import parse_epsilon_keys

    try:
        parse_epsilon_keys(text)
    except InvalidInputError as e:
        raise argparse.ArgumentTypeError(str(e).removeprefix("--eps ")) from None
    return text


def _key_value(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r}: use NAME=VALUE")
    return key, value


def _add_pipeline_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pipeline parameters (defaults are the pipeline's)")
    group.add_argument(
        "--data",
        dest="data_source",
        help="'digits' (built in), an .npz, a .csv/.parquet table or a folder of images with "
        "one sub-folder per class",
    )
    group.add_argument(
        "--model",
        type=Path,
        help="release a model trained elsewhere instead of training one (secure-release): a "
        "Keras 3 .keras file or a TensorFlow SavedModel folder; --data is then its evaluation "
        "data, used whole",
    )
    group.add_argument(
        "--model-format",
        choices=model_format_names(),
        help="the format of --model (default: recognised from the path)",
    )
    group.add_argument(
        "--data-format",
        choices=format_names(),
        help="the format of --data (default: recognised by suffix or folder)",
    )
    group.add_argument("--label-column", help="the label column of a table (default: label)")
    group.add_argument(
        "--value-min", type=finite_float, help="lowest valid input value (default: 0)"
    )
    group.add_argument(
        "--value-max",
        type=finite_float,
        help="highest valid input value (default: 1; 255 for 8-bit images the model scales)",
    )
    group.add_argument("--epochs", type=int_at_least(1))
    group.add_argument(
        "--adversarial-training",
        choices=ADVERSARIAL_METHODS,
        help="train: none, PGD-AT (pgd) or FGSM with random start (fgsm_rs)",
    )
    group.add_argument(
        "--dp-noise-multiplier",
        type=bounded_float(at_least=0.0),
        help="train with DP-SGD: Gaussian noise std / clip norm (default 0: off)",
    )
    group.add_argument(
        "--dp-l2-norm-clip",
        type=bounded_float(above=0.0),
        help="DP-SGD: per-example gradient L2 clip norm (default 1)",
    )
    group.add_argument(
        "--dp-delta",
        type=bounded_float(above=0.0, below=1.0),
        help="DP-SGD: delta of the reported epsilon (default 1e-5; below 1/training examples)",
    )
    group.add_argument("--seed", type=int)
    group.add_argument(
        "--eps", dest="epsilons", type=epsilon_list, help="attack epsilons, e.g. 0.05,0.1"
    )
    group.add_argument("--attack-tier", choices=C.TIERS, help="attack_test tier (default: fast)")
    group.add_argument("--pgd-steps", type=int_at_least(1))
    group.add_argument("--min-clean-accuracy", type=fraction, help="gate: minimum clean accuracy")
    group.add_argument("--min-robust-accuracy", type=fraction, help="gate: minimum robust accuracy")
    group.add_argument("--robust-attack", help="gate: attack the robust threshold applies to")
    group.add_argument("--robust-epsilon", type=finite_float, help="gate: epsilon it applies to")
    group.add_argument(
        "--allow-masking-flag",
        dest="allow_masking_flags",
        action="append",
        choices=C.MASKING_FLAGS,
        metavar="FLAG",
        help="gate: report this gradient-masking flag without blocking (repeatable; one of "
        + ", ".join(C.MASKING_FLAGS)
        + ")",
    )
    group.add_argument("--service-name", help="InferenceService name (DNS-1035 label)")
    group.add_argument("--namespace", dest="namespace", help="Kubernetes namespace to deploy to")
    group.add_argument(
        "--predictor",
        choices=C.PREDICTORS,
        help="deploy: our verified predictor, which verifies signature, attestation and the "
        "gate's approval again before serving (verified, default), or KServe's TensorFlow "
        "runtime (kserve: opt-out, nothing re-checks the stored model after deploy)",
    )
    group.add_argument(
        "--pushgateway-url",
        help="push every step's mlsecops_* metrics to this Prometheus Pushgateway",
    )


_PIPELINE_ARGS = (
    "data_source",
    "data_format",
    "label_column",
    "value_min",
    "value_max",
    "epochs",
    "adversarial_training",
    "dp_noise_multiplier",
    "dp_l2_norm_clip",
    "dp_delta",
    "seed",
    "epsilons",
    "attack_tier",
    "pgd_steps",
    "min_clean_accuracy",
    "min_robust_accuracy",
    "robust_attack",
    "robust_epsilon",
    "allow_masking_flags",
    "service_name",
    "namespace",
    "predictor",
    "pushgateway_url",
)


#: Flags that only secure-training has (it trains); with --model they are refused.
_TRAINING_ONLY = {
    "epochs": "--epochs",
    "adversarial_training": "--adversarial-training",
    "dp_noise_multiplier": "--dp-noise-multiplier",
    "dp_l2_norm_clip": "--dp-l2-norm-clip",
    "dp_delta": "--dp-delta",
}


def _pipeline_arguments(args: argparse.Namespace) -> dict[str, Any]:
    if args.robust_epsilon is not None and args.robust_epsilon < 0:
        raise InvalidInputError(f"--robust-epsilon {args.robust_epsilon}: must be >= 0")
    given = {
        name: getattr(args, name) for name in _PIPELINE_ARGS if getattr(args, name) is not None
    }
    if args.model is None:
        if args.model_format is not None:
            raise InvalidInputError("--model-format: names the format of --model; pass --model")
        return given
    for name, flag in _TRAINING_ONLY.items():
        if name in given:
            raise InvalidInputError(f"{flag}: with --model nothing is trained; drop {flag}")
    data = given.pop("data_source", None)
    if data is None or data == "digits":
        raise InvalidInputError(
            "--data: with --model pass the model's evaluation data (a file or folder), not the "
            "built-in digits"
        )
    given["model_uri"] = str(args.model.resolve())
    given["data_uri"] = str(Path(data).resolve())
    if args.model_format is not None:
        given["model_format"] = args.model_format
    return given


#: ``mlsecops run``'s signing flags: the attribute holding each one and the flat options it sets,
#: as (side, option); side ``signing`` feeds sign and attest, ``trust`` feeds gate and deploy.
_RUN_FLAGS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "--private-key": ("private_key", (("signing", "private_key_path"),)),
    "--public-key": ("public_key", (("trust", "public_key_path"),)),
    "--certificate": ("certificate", (("signing", "certificate_path"),)),
    "--chain": ("chain", (("signing", "chain_paths"),)),
    "--trust-chain": ("trust_chain", (("trust", "chain_paths"),)),
    "--identity": ("identity", (("trust", "identity"),)),
    "--issuer": ("issuer", (("trust", "issuer"),)),
    "--identity-token-file": ("identity_token_file", (("signing", "identity_token_path"),)),
    "--trust-config": (
        "trust_config",
        (("signing", "trust_config_path"), ("trust", "trust_config_path")),
    ),
}
#: Flags a method needs before anything is written (attributes, message); a method without an
#: entry is checked by its steps. The key method needs none: run_local makes a throwaway pair.
_RUN_NEEDS = {
    C.SIGNING_METHOD_CERTIFICATE: (
        ("private_key", "certificate", "trust_chain", "identity"),
        "--signing-method certificate needs --private-key, --certificate, --trust-chain "
        "and --identity (and --chain for intermediates)",
    ),
    C.SIGNING_METHOD_SIGSTORE: (
        ("identity", "issuer", "trust_config"),
        "--signing-method sigstore needs --identity, --issuer and --trust-config, and "
        "--identity-token-file unless ambient credentials are available",
    ),
}


def _signing_arguments(args: argparse.Namespace) -> dict[str, Any]:
    """Pipeline arguments for the signing method's options (key: handled by run_local).

    Which flags a method takes comes from its option tables in the signing registry.
    """
    from kfp_mlsecops.signing.registry import get_method

    method = get_method(args.signing_method)
    takes = {("signing", o) for o in method.signing_options}
    takes |= {("trust", o) for o in method.verification_options}
    given = sorted(
        flag
        for flag, (attr, sets) in _RUN_FLAGS.items()
        if getattr(args, attr) and not takes & set(sets)
    )
    if given:
        raise InvalidInputError(
            f"--signing-method {method.name} does not use {', '.join(given)}; drop them"
        )

    files = {
        "--private-key": [args.private_key],
        "--certificate": [args.certificate],
        "--chain": args.chain,
        "--trust-chain": args.trust_chain,
        "--identity-token-file": [args.identity_token_file],
        "--trust-config": [args.trust_config],
    }
    for flag, values in files.items():
        for value in values:
            if value is not None and not value.is_file():
                raise InvalidInputError(f"{flag} '{value}': not found; check the path")

    if method.name == C.SIGNING_METHOD_KEY:
        return {}
    needed, message = _RUN_NEEDS.get(method.name, ((), ""))
    if not all(getattr(args, attr) for attr in needed):
        raise InvalidInputError(message)

    from kfp_mlsecops.pipelines.signing_wiring import SIGNING_PARAMETERS, TRUST_PARAMETERS

    def argument(flag_value: Any) -> Any:
        if isinstance(flag_value, list):
            return [str(p.resolve()) for p in flag_value]
        if isinstance(flag_value, Path):
            return str(flag_value.resolve())
        return "" if flag_value is None else flag_value

    arguments: dict[str, Any] = {}
    for attr, sets in _RUN_FLAGS.values():
        for side, option in sets:
            if (side, option) in takes:
                parameters = SIGNING_PARAMETERS if side == "signing" else TRUST_PARAMETERS
                arguments[parameters[option]] = argument(getattr(args, attr))
    if ("signing", "use_ambient_credentials") in takes:
        arguments["use_ambient_credentials"] = args.identity_token_file is None
    return arguments


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser for every ``mlsecops`` subcommand."""
    parser = argparse.ArgumentParser(
        prog="mlsecops",
        description="Hardened Kubeflow Pipelines components for MLSecOps: "
        "validate -> train -> attack-test -> attest -> sign -> gate -> deploy.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    run = sub.add_parser(
        "run",
        help="run the whole secure pipeline locally (kfp.local, no cluster)",
        description="Run secure-training (or, with --model, secure-release for a model trained "
        "elsewhere) on this machine with kfp.local's SubprocessRunner. "
        "Exit 0 when the gate blesses the model, 3 when the gate blocks it, 1 on any other error.",
    )
    run.add_argument(
        "--output-dir", type=Path, default=Path("mlsecops-output"), help="where runs are written"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="stream every task's log")
    run.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="policy floor YAML (e.g. manifests/policy/prod/policy.yaml); run parameters may "
        "tighten it, never loosen it (default: the built-in floor, and the run says so)",
    )
    run.add_argument(
        "--approval-key",
        type=Path,
        default=None,
        metavar="PEM",
        help="the gate's own ECDSA private key for signing approvals (default: a throwaway pair)",
    )
    run.add_argument(
        "--approval-public-key",
        type=Path,
        default=None,
        metavar="PEM",
        help="its public key, which deploy verifies approvals with",
    )
    run.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        metavar="PATH",
        help="append the gate decision and the deploy to this signed, hash-chained audit log "
        "(file or directory; signed with the approval key: check it with 'mlsecops audit "
        "verify --public-key' and the approval public key)",
    )
    run.add_argument(
        "--attack-shards",
        type=int_at_least(1),
        default=1,
        metavar="N",
        help="fan attack-test out over N shards (dsl.ParallelFor) and merge them; the results "
        "equal the unsharded ones (default 1: one attack-test task)",
    )
    signing = run.add_argument_group(
        "signing (default: the key method with a throwaway key pair)",
        "The pipeline is compiled for --signing-method; its options mirror 'mlsecops sign' and "
        "'mlsecops verify'. Keyless Sigstore signing needs the network.",
    )
    signing.add_argument(
        "--signing-method", choices=C.SIGNING_METHODS, default=C.SIGNING_METHOD_KEY
    )
    signing.add_argument(
        "--private-key", type=Path, help="key: ECDSA private key PEM; certificate: the leaf's key"
    )
    signing.add_argument("--public-key", type=Path, help="key: public key PEM the gate verifies")
    signing.add_argument("--certificate", type=Path, help="certificate: code-signing leaf PEM")
    signing.add_argument(
        "--chain",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="certificate: issuing CA certificate(s) bundled at signing (repeatable)",
    )
    signing.add_argument(
        "--trust-chain",
        type=Path,
        action="append",
        default=[],
        metavar="PEM",
        help="certificate: CA certificate(s) the gate trusts (repeatable)",
    )
    signing.add_argument(
        "--identity", help="certificate: leaf subject DN or SAN; sigstore: certificate identity"
    )
    signing.add_argument("--issuer", help="sigstore: OIDC issuer URL")
    signing.add_argument(
        "--identity-token-file", type=Path, help="sigstore: OIDC identity token (audience sigstore)"
    )
    signing.add_argument(
        "--trust-config", type=Path, help="sigstore: ClientTrustConfig JSON (sign and verify)"
    )
    _add_pipeline_options(run)

    attack = sub.add_parser(
        "attack",
        help="attack a model on an NPZ and write robust accuracy as JSON (attack-test step)",
        description="Measure robust accuracy of a model folder, .keras model or SavedModel "
        "folder on data, per attack and epsilon, plus the worst case and gradient-masking flags; "
        "with --results on a validate-data split it is the attack-test step. Exit 0 "
        "when the evaluation ran (flags are reported, not enforced), 1 on an error, 2 on bad "
        "arguments.",
    )
    attack.add_argument(
        "--model",
        type=Path,
        required=True,
        help="a model folder (its SavedModel 1/), a .keras file or a SavedModel folder",
    )
    attack.add_argument(
        "--data", type=Path, required=True, help="an .npz with x (2-D, 3-D or 4-D) and y (labels)"
    )
    attack.add_argument(
        "--eps",
        type=_epsilon_keys,
        required=True,
        help="comma-separated L-inf budgets, e.g. 0.1,0.2 (JSON keys keep this spelling)",
    )
    attack.add_argument(
        "--tier",
        choices=C.TIERS,
        default="fast",
        help="fast: FGSM + PGD; reliable: APGD-CE + APGD-T + Square (default: fast)",
    )
    attack.add_argument("--json", type=Path, required=True, help="where to write the results")
    attack.add_argument("--html", type=Path, help="also write the HTML report here")
    attack.add_argument(
        "--max-samples", type=int_at_least(0), default=0, help="attack a seeded subset (0: all)"
    )
    attack.add_argument("--batch-size", type=int_at_least(1), default=256)
    attack.add_argument("--lower", type=finite_float, default=0.0, help="valid input minimum (0)")
    attack.add_argument("--upper", type=finite_float, default=1.0, help="valid input maximum (1)")
    attack.add_argument("--seed", type=int_at_least(0), default=0)
    attack.add_argument("--pgd-steps", type=int_at_least(1), default=20)
    step = attack.add_argument_group(
        "attack-test step mode",
        "On a validate-data split, write the component's results document (what 'mlsecops "
        "attest' and 'mlsecops gate' read) with the component's own core.",
    )
    step.add_argument("--results", type=Path, default=None, metavar="JSON")
    step.add_argument("--report", type=Path, default=None, metavar="MD")

    comp = sub.add_parser(
        "compile",
        help="write the pipeline and component YAML files (or check they are current)",
        description="Compile the pipelines and components to their committed YAML (project "
        "images, key method), or with --output one pipeline for your registry and signing "
        "method: --pipeline, --signing-method, --image, --predictor-image and per-step "
        "resources (CPU, memory, accelerators).",
    )
    comp.add_argument(
        "--check",
        action="store_true",
        help="exit 1 if a committed YAML differs from a fresh compile",
    )
    comp.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="compile one pipeline to FILE with the options below",
    )
    comp.add_argument(
        "--pipeline",
        choices=("secure-training", "secure-release"),
        default=None,
        help="which pipeline (with --output; default secure-training)",
    )
    comp.add_argument(
        "--signing-method",
        choices=C.SIGNING_METHODS,
        default=None,
        help="wire the pipeline for this signing method (with --output; default key)",
    )
    comp.add_argument(
        "--image",
        default=None,
        metavar="REF",
        help="the image every component runs in, e.g. registry/kfp-mlsecops@sha256:... "
        "(with --output; default the project's)",
    )
    comp.add_argument(
        "--predictor-image",
        default=None,
        metavar="REF",
        help="default of the pipeline's predictor_image parameter: the verified predictor's "
        "image (with --output)",
    )
    comp.add_argument(
        "--attack-shards",
        type=int_at_least(1),
        default=None,
        metavar="N",
        help="fan attack-test out over N shards (dsl.ParallelFor) merged by "
        "merge-attack-results into the unsharded results (with --output; default 1)",
    )
    resources = comp.add_argument_group(
        "resources (with --output)",
        "Kubernetes requests and limits compiled into the steps: VALUE sets every step, "
        "STEP=VALUE one step (over VALUE); each flag repeats. Steps are the compiled task names: "
        "validate-data, train, import-model (secure-release), attack-test (every shard), "
        "merge-attack-results (with --attack-shards), attest-robustness, sign-model, gate, "
        "deploy. CPU: cores or millicores (2, 0.5, 500m); memory: 512Mi, 4Gi, 2G. A request may "
        "not exceed its limit.",
    )
    for flag, example in (
        ("--cpu-request", "train=2"),
        ("--cpu-limit", "4"),
        ("--memory-request", "train=4Gi"),
        ("--memory-limit", "8Gi"),
    ):
        resources.add_argument(
            flag, action="append", metavar="[STEP=]VALUE", help=f"e.g. {example} (repeatable)"
        )
    resources.add_argument(
        "--accelerator",
        metavar="TYPE[:COUNT]",
        help="accelerator for --accelerator-steps, a Kubernetes resource name and count "
        "(default 1), e.g. nvidia.com/gpu:1; give --image the GPU component image "
        "(docker build --build-arg EXTRAS=gpu), the default image has TensorFlow for CPU only",
    )
    resources.add_argument(
        "--accelerator-steps",
        metavar="STEP[,STEP...]",
        help="the steps that get --accelerator, e.g. train,attack-test (required with it)",
    )

    submit = sub.add_parser(
        "submit",
        help="submit the compiled pipeline to a Kubeflow Pipelines endpoint",
        description="Create a run on a Kubeflow Pipelines endpoint. The token comes from "
        "--token, else $MLSECOPS_KFP_TOKEN, else the in-cluster service-account token file.",
    )
    submit.add_argument(
        "--host", required=True, help="KFP API endpoint, e.g. https://kf.example/pipeline"
    )
    submit.add_argument("--namespace", required=True, help="Kubeflow profile namespace")
    submit.add_argument("--experiment", required=True, help="experiment name (created if missing)")
    submit.add_argument(
        "--run-name", default=None, help="run name (default: secure-training-<time>)"
    )
    submit.add_argument(
        "--package", type=Path, default=None, help="compiled YAML (default: bundled)"
    )
    submit.add_argument("--token", default=None, help="bearer token (prefer the env variable)")
    submit.add_argument(
        "--param",
        action="append",
        type=_key_value,
        default=[],
        metavar="NAME=VALUE",
        help="pipeline parameter (repeatable); values are parsed as YAML scalars",
    )
    add_step_parsers(sub)
    add_sign_parser(sub)
    add_verify_parser(sub)
    add_serve_parser(sub)
    add_audit_parser(sub)
    add_check_parser(sub)
    add_privacy_parser(sub)
    add_poisoning_parser(sub)
    add_explanations_parser(sub)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    from kfp_mlsecops.cli.run_local import run_pipeline_locally
    from kfp_mlsecops.cli.summary import print_run_summary

    key_method = args.signing_method == C.SIGNING_METHOD_KEY
    result = run_pipeline_locally(
        output_dir=args.output_dir,
        arguments={**_pipeline_arguments(args), **_signing_arguments(args)},
        private_key=args.private_key if key_method else None,
        public_key=args.public_key if key_method else None,
        approval_key=args.approval_key,
        approval_public_key=args.approval_public_key,
        audit_log=args.audit_log,
        policy=args.policy,
        signing_method=args.signing_method,
        verbose=args.verbose,
        attack_shards=args.attack_shards,
    )
    print_run_summary(result, sys.stdout)
    if result.succeeded:
        return EXIT_OK
    return EXIT_BLOCKED if result.blocked_by_gate else EXIT_ERROR


def _cmd_attack(args: argparse.Namespace) -> int:
    from kfp_mlsecops.cli._progress import ProgressBar
    from kfp_mlsecops.cli.attack import run_attack, summary_line

    bar = ProgressBar(sys.stderr)
    try:
        doc = run_attack(
            model_path=args.model,
            data_path=args.data,
            epsilons=args.eps,
            tier=args.tier,
            json_path=args.json,
            html_path=args.html,
            max_samples=args.max_samples,
            batch_size=args.batch_size,
            lower=args.lower,
            upper=args.upper,
            seed=args.seed,
            pgd_steps=args.pgd_steps,
            results_path=args.results,
            report_path=args.report,
            progress=bar,
        )
    finally:
        bar.close()
    print(summary_line(doc, args.json))
    return EXIT_OK


def _cmd_compile(args: argparse.Namespace) -> int:
    from kfp_mlsecops.pipelines.compiling import compile_all, compile_pipeline, stale_files
    from kfp_mlsecops.pipelines.resources import plan_from_options

    options = {
        "--pipeline": args.pipeline,
        "--signing-method": args.signing_method,
        "--image": args.image,
        "--predictor-image": args.predictor_image,
        "--attack-shards": args.attack_shards,
        "--cpu-request": args.cpu_request,
        "--cpu-limit": args.cpu_limit,
        "--memory-request": args.memory_request,
        "--memory-limit": args.memory_limit,
        "--accelerator": args.accelerator,
        "--accelerator-steps": args.accelerator_steps,
    }
    given = [flag for flag, value in options.items() if value is not None]
    if (given and args.output is None) or (args.check and args.output is not None):
        print(
            f"error: {', '.join(given) or '--output'} need(s) --output, without --check "
            "(the committed YAML keeps the project defaults)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.output is not None:
        resources = plan_from_options(
            cpu_request=args.cpu_request or (),
            cpu_limit=args.cpu_limit or (),
            memory_request=args.memory_request or (),
            memory_limit=args.memory_limit or (),
            accelerator=args.accelerator,
            accelerator_steps=args.accelerator_steps,
        )
        path = compile_pipeline(
            args.output,
            signing_method=args.signing_method or C.SIGNING_METHOD_KEY,
            pipeline=args.pipeline or "secure-training",
            image=args.image,
            predictor_image=args.predictor_image,
            resources=resources,
            attack_shards=args.attack_shards or 1,
        )
        print(f"wrote {path}")
        if args.accelerator is not None and args.image is None:
            print(
                "warning: --accelerator with the default image, which has TensorFlow for CPU "
                "only; give --image the GPU component image (docker build --build-arg EXTRAS=gpu)",
                file=sys.stderr,
            )
        for flag in ("--image", "--predictor-image"):
            ref = options[flag]
            if ref is not None and "@sha256:" not in ref:
                print(
                    f"warning: {flag} {ref} is a tag, not a digest: whoever can move the tag "
                    "chooses the code that runs; pin registry/name@sha256:...",
                    file=sys.stderr,
                )
        return EXIT_OK
    if args.check:
        stale = stale_files()
        for path, diff in stale.items():
            sys.stderr.write(diff[:4000])
            print(f"stale: {path} (run 'make compile' and commit the result)", file=sys.stderr)
        if stale:
            return EXIT_ERROR
        print("compiled YAML is up to date")
        return EXIT_OK
    for path in compile_all():
        print(f"wrote {path}")
    return EXIT_OK


def _cmd_submit(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    import yaml

    from kfp_mlsecops.cli.submit import resolve_token, submit_pipeline
    from kfp_mlsecops.pipelines.compiling import PIPELINE_YAML

    package = args.package or PIPELINE_YAML
    arguments = {key: yaml.safe_load(value) for key, value in args.param}
    run_name = args.run_name or f"secure-training-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    result = submit_pipeline(
        host=args.host,
        package=package,
        namespace=args.namespace,
        experiment=args.experiment,
        run_name=run_name,
        arguments=arguments,
        token=resolve_token(args.token),
    )
    print(f"submitted run {result.run_id}: {result.url}")
    return EXIT_OK


_COMMANDS = {
    "run": _cmd_run,
    "attack": _cmd_attack,
    "compile": _cmd_compile,
    "submit": _cmd_submit,
    "sign": run_sign,
    "verify": run_verify,
    "serve": run_serve,
    "audit": run_audit,
    "check": run_check,
    "privacy": run_privacy,
    "poisoning": run_poisoning,
    "explanations": run_explanations,
    **STEP_COMMANDS,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``mlsecops``; returns the process exit code."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except GateRejected as e:
        print(f"mlsecops {args.command}: BLOCKED: {e}", file=sys.stderr)
        return EXIT_BLOCKED
    except MLSecOpsError as e:
        print(f"mlsecops {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"mlsecops {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
