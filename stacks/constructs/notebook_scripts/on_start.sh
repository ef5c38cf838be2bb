#!/bin/bash
# SageStack notebook on-start: install the SageStack SDK from S3 and arm the idle stop.
# Runs as root at every start; must finish within 5 minutes; the instance has no internet.
set -euo pipefail

WHEEL="/tmp/__WHEEL_FILENAME__"
aws s3 cp "__WHEEL_S3_URL__" "$WHEEL" --region "__REGION__"
chmod 644 "$WHEEL"

# Install into every conda environment whose Python the wheel accepts (Requires-Python).
installed=0
for pip in /home/ec2-user/anaconda3/envs/*/bin/pip; do
  if sudo -u ec2-user "$pip" install --quiet --no-deps --no-index --force-reinstall "$WHEEL"; then
    echo "sagestack SDK installed with $pip"
    installed=1
  else
    echo "sagestack SDK not installed with $pip (Python version not supported)"
  fi
done
if [ "$installed" -eq 0 ]; then
  echo "sagestack SDK: no conda environment accepted the wheel" >&2
  exit 1
fi

mkdir -p /usr/local/lib/sagestack
cat > /usr/local/lib/sagestack/idle_stop.py <<'IDLE_STOP_PY'
__IDLE_STOP_PY__
IDLE_STOP_PY

cat > /etc/systemd/system/sagestack-idle-stop.service <<UNIT
[Unit]
Description=Stop this notebook instance when Jupyter is idle
[Service]
Type=oneshot
ExecStart=/usr/bin/python3 /usr/local/lib/sagestack/idle_stop.py --idle-minutes __IDLE_MINUTES__ --region __REGION__
UNIT
cat > /etc/systemd/system/sagestack-idle-stop.timer <<UNIT
[Unit]
Description=Check Jupyter activity every 5 minutes
[Timer]
OnBootSec=5min
OnUnitActiveSec=5min
[Install]
WantedBy=timers.target
UNIT
systemctl daemon-reload
systemctl enable --now sagestack-idle-stop.timer
