"""The offline repo-level bugfix suite: bugs injected into pinned pure-Python libraries, graded by their
own test suites. `build_suite` makes and validates the manifest; `load_bugfix` turns it into a Suite."""

from .build import BuildReport, Limits, build_suite, merge_manifests
from .load import BugfixSource, load_bugfix

__all__ = ["BugfixSource", "BuildReport", "Limits", "build_suite", "load_bugfix", "merge_manifests"]
