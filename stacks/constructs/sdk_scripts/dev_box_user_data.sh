# SageStack dev box, first boot (root): Python 3.11 from AL2023's S3-served repositories, a venv
# in /opt/sagestack with the SDK wheel and its dependencies from the package mirror, pinned to
# uv.lock, and `sagestack` on every user's PATH (ssm-user's too). Nothing from the internet.
set -euo pipefail

OPT=/opt/sagestack
WHEEL="$OPT/__WHEEL_FILENAME__"

__MIRROR_INDEX_FN__

dnf install -y -q python3.11 python3.11-pip
mkdir -p "$OPT"
aws s3 cp --quiet "__WHEEL_S3_URL__" "$WHEEL" --region "__REGION__"
aws s3 cp --quiet "__CONSTRAINTS_S3_URL__" "$OPT/constraints.txt" --region "__REGION__"
# Exactly the bytes synth built (their sha256 is in this script), whatever the S3 object is now.
echo "__WHEEL_SHA256__  $WHEEL" | sha256sum --check --quiet --strict -
echo "__CONSTRAINTS_SHA256__  $OPT/constraints.txt" | sha256sum --check --quiet --strict -
python3.11 -m venv "$OPT/venv"
PIP_INDEX_URL="$(mirror_index_url)"
export PIP_INDEX_URL
# The mirror only (no pip.conf), the versions uv.lock pins.
PIP_CONFIG_FILE=/dev/null "$OPT/venv/bin/python" -m pip install --quiet \
  --disable-pip-version-check --constraint "$OPT/constraints.txt" "$WHEEL"
unset PIP_INDEX_URL
chmod -R a+rX "$OPT"
ln -sf "$OPT/venv/bin/sagestack" /usr/local/bin/sagestack
# A wrapper, not a link: Python finds its venv from the path it was started by, so a linked
# interpreter in /usr/local/bin would not see the SDK.
printf '#!/bin/sh\nexec %s/venv/bin/python "$@"\n' "$OPT" > /usr/local/bin/sagestack-python
chmod 755 /usr/local/bin/sagestack-python
sagestack --help >/dev/null
echo "SageStack SDK ready: sagestack --help; sagestack-python for scripts"
