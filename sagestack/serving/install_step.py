"""The container's install step, judged locally: would the serving code install with no index?

Before it imports ``SAGEMAKER_PROGRAM``, the XGBoost image's toolkit (sagemaker-containers
2.8.6.post2, ``_modules.install``) runs ``python -m pip install .`` in the code directory, with
``-r requirements.txt`` added when that file exists. Our models set ``PIP_NO_BUILD_ISOLATION=false``
(sagestack.contract.launch), so the ``.`` part needs nothing from an index; a requirement that is
not already installed does, and our VPCs have none: pip prints ``Could not find a version that
satisfies the requirement ...`` and the toolkit raises ``InstallModuleError``, so the endpoint
never starts. The local runtime does not install anything; it refuses to start in the same case,
with the same error, instead of serving code the deployed endpoint could not load.

"Already installed" is judged against this environment, not the image's: a requirement this
machine has and the image lacks still passes here (README, "Where the local runtime and the
container still differ").
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

REQUIREMENTS_FILE = "requirements.txt"
# The command the toolkit runs and names in its error (``_modules.install``).
INSTALL_COMMAND = f"python3 -m pip install . -r {REQUIREMENTS_FILE}"


def _unsatisfied(line: str) -> bool:
    """Whether pip, with no index, could not satisfy one requirements.txt line."""
    if line.startswith("-"):
        # Options (-e, -r, --index-url, ...) point pip at other sources or files: with no index
        # and no network there is nothing they can fetch.
        return True
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return True
    if requirement.marker is not None and not requirement.marker.evaluate():
        return False  # pip skips it: "Ignoring ...: markers ... don't match your environment"
    if requirement.url is not None:
        return True
    try:
        installed = metadata.version(requirement.name)
    except metadata.PackageNotFoundError:
        return True
    return not requirement.specifier.contains(installed, prereleases=True)


def offline_install_error(code_dir: Path) -> str | None:
    """The toolkit's ``InstallModuleError`` for ``code_dir``, or None when it would install.

    The message is what the container logs: the toolkit's error and command, pip's two lines for
    the first requirement it cannot find, then which line of requirements.txt that was.
    """
    requirements = code_dir / REQUIREMENTS_FILE
    if not requirements.is_file():
        return None
    for number, raw in enumerate(requirements.read_text(errors="replace").splitlines(), 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or not _unsatisfied(line):
            continue
        return (
            f'InstallModuleError:\nCommand "{INSTALL_COMMAND}"\n'
            f"ERROR: Could not find a version that satisfies the requirement {line} "
            "(from versions: none)\n"
            f"ERROR: No matching distribution found for {line}\n"
            f"({REQUIREMENTS_FILE} line {number}: the deployed endpoint installs its code "
            "directory with no package index, so it can list only packages the image has)"
        )
    return None
