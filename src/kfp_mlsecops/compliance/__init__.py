"""Compliance: evaluate a profile of controls (MLSVS by default) against a local run folder.

Only the run's files are read; nothing in a cluster namespace (RBAC, Secrets, monitoring) is
checked here.
"""

from __future__ import annotations

from kfp_mlsecops.compliance.checks import CheckContext, RunFolder
from kfp_mlsecops.compliance.evaluate import ControlReport, Report, run_profile
from kfp_mlsecops.compliance.profile import BUILTIN_PROFILES, Control, Profile, load_profile
from kfp_mlsecops.compliance.reporters import parse_reporter, report_to_dict, write_reports
from kfp_mlsecops.compliance.waivers import Waiver, load_waivers

__all__ = [
    "BUILTIN_PROFILES",
    "CheckContext",
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
