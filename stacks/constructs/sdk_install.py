"""The shell scripts that install the SDK on the notebook and the dev box, filled in for a stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stacks.constructs.package_mirror import PackageMirrorRef

SCRIPTS = Path(__file__).parent / "sdk_scripts"


@dataclass(frozen=True, kw_only=True)
class SdkInstallSource:
    """Where the wheel, its constraints and its dependencies come from (values may be tokens)."""

    wheel_filename: str
    wheel_s3_url: str
    wheel_sha256: str
    """Checked after the download: the installer refuses any other bytes."""
    constraints_s3_url: str
    constraints_sha256: str
    region: str
    mirror: PackageMirrorRef


def fill(script: str, source: SdkInstallSource) -> str:
    """Replaces the placeholders the SDK install scripts share (mirror function first: it has
    placeholders of its own)."""
    script = script.replace(
        "__MIRROR_INDEX_FN__", (SCRIPTS / "mirror_index.sh").read_text().rstrip("\n")
    )
    replacements = {
        "__WHEEL_FILENAME__": source.wheel_filename,
        "__WHEEL_S3_URL__": source.wheel_s3_url,
        "__CONSTRAINTS_S3_URL__": source.constraints_s3_url,
        "__WHEEL_SHA256__": source.wheel_sha256,
        "__CONSTRAINTS_SHA256__": source.constraints_sha256,
        "__REGION__": source.region,
        "__MIRROR_DOMAIN_OWNER__": source.mirror.domain_owner,
        "__MIRROR_DOMAIN__": source.mirror.domain_name,
        "__MIRROR_REPOSITORY__": source.mirror.repository_name,
    }
    for placeholder, value in replacements.items():
        script = script.replace(placeholder, value)
    return script


def render_notebook_env(source: SdkInstallSource) -> str:
    """The notebook's background installer of the SageStack kernel environment."""
    return fill((SCRIPTS / "notebook_env.sh").read_text(), source)


def render_dev_box_user_data(source: SdkInstallSource) -> str:
    """The dev box's first-boot commands (cloud-init adds the shebang)."""
    return fill((SCRIPTS / "dev_box_user_data.sh").read_text(), source)
