#!/bin/bash
# SageStack notebook: the SageStack kernel's environment on the persistent volume, with the SDK
# and its dependencies from the package mirror. Started in the background by the lifecycle
# scripts (they must finish within 5 minutes); a restart reuses the environment.
set -euo pipefail

STATE=/home/ec2-user/SageMaker/.sagestack
LOG=/home/ec2-user/SageMaker/sagestack-install.log
VENV="$STATE/venv"
WHEEL="$STATE/__WHEEL_FILENAME__"

__MIRROR_INDEX_FN__

as_user() { sudo -u ec2-user -H "$@"; }

if [ "${1:-}" != "--as-user" ]; then
  # As root, only what needs root: Python 3.11, which the wheel requires, from AL2023's
  # S3-served repositories (the root volume is new at every start, so this repeats, in seconds).
  # Then the rest as ec2-user: root never writes into the user's SageMaker folder.
  as_user mkdir -p "$STATE"
  # On-create and on-start start one each at a first start: one dnf at a time, and the second
  # finds python3.11 installed.
  exec 8>"$(dirname "$0")/python.lock"
  flock 8
  {
    echo "$(date -u +%FT%TZ) SageStack environment: Python 3.11"
    command -v python3.11 >/dev/null || dnf install -y -q python3.11 python3.11-pip
  } 2>&1 | as_user tee -a "$LOG" >/dev/null
  exec sudo -u ec2-user -H "$0" --as-user "$PATH"
fi

export PATH="$2"
exec >>"$LOG" 2>&1
exec 9>"$STATE/install.lock"
flock 9  # on-create and on-start may both have started one
echo "$(date -u +%FT%TZ) SageStack environment: $VENV"
# A venv outlives its interpreter's symlink target; recreate it if it no longer runs.
if ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  rm -rf "$VENV"
  python3.11 -m venv "$VENV"
fi
aws s3 cp --quiet "__WHEEL_S3_URL__" "$WHEEL" --region "__REGION__"
aws s3 cp --quiet "__CONSTRAINTS_S3_URL__" "$STATE/constraints.txt" --region "__REGION__"
# Exactly the bytes synth built (their sha256 is in this script), whatever the S3 object is now.
echo "__WHEEL_SHA256__  $WHEEL" | sha256sum --check --quiet --strict -
echo "__CONSTRAINTS_SHA256__  $STATE/constraints.txt" | sha256sum --check --quiet --strict -
stamp="$(cat "$WHEEL" "$STATE/constraints.txt" | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$STATE/installed" 2>/dev/null || true)" != "$stamp" ]; then
  PIP_INDEX_URL="$(mirror_index_url)"
  export PIP_INDEX_URL
  # The mirror only (no pip.conf), the versions uv.lock pins.
  PIP_CONFIG_FILE=/dev/null "$VENV/bin/python" -m pip install --quiet \
    --disable-pip-version-check --constraint "$STATE/constraints.txt" "$WHEEL" ipykernel
  unset PIP_INDEX_URL
  echo "$stamp" >"$STATE/installed"
fi
# Kernel specs live on the root volume: register at every start.
"$VENV/bin/python" -m ipykernel install --user --name sagestack \
  --display-name "SageStack (Python 3.11)"
echo "$(date -u +%FT%TZ) SageStack environment: ready; pick the kernel 'SageStack (Python 3.11)'"
