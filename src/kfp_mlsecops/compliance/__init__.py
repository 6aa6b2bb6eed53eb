"""Compliance: evaluate a profile of controls (MLSVS by default) against a run and a namespace.

Run controls read the run's files; cluster controls read one namespace through the Kubernetes
API (:class:`~kfp_mlsecops.compliance.cluster.Cluster`: pipeline RBAC, InferenceServices,
PrometheusRules). A control whose input was not given is reported as not run.
"""

from __future__ import annotations

from kfp_mlsecops.compliance.checks import CheckContext, RunFolder
from kfp_mlsecops.compliance.cluster import Cluster, ClusterError
from kfp_mlsecops.compliance.evaluate import ControlReport, Report, run_profile
from kfp_mlsecops.compliance.profile import BUILTIN_PROFILES, Control, Profile, load_profile
from kfp_mlsecops.compliance.reporters import parse_reporter, report_to_dict, write_reports
from kfp_mlsecops.compliance.waivers import Waiver, load_waivers

__all__ = [
    "BUILTIN_PROFILES",
    "CheckContext",
    "Cluster",
    "ClusterError",
    "Control",
    "ControlReport",
    "Profile",
    "Report",
    "RunFolder",
    "Waiver",
    "load_profile",
    "load_waivers",
    "parse_reporter",
    "report_to_dict",
    "run_profile",
    "write_reports",
]
