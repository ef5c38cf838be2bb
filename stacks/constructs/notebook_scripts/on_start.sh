#!/bin/bash
# SageStack notebook on-start: ensure the SageStack kernel's environment (background) and arm the
# idle stop. Runs as root at every start; must finish within 5 minutes; no internet.
set -euo pipefail

__LAUNCH_ENV__

mkdir -p /usr/local/lib/sagestack
cat > /usr/local/lib/sagestack/idle_stop.py <<'IDLE_STOP_PY'
__IDLE_STOP_PY__
IDLE_STOP_PY

cat > /etc/systemd/system/sagestack-idle-stop.service <<UNIT
[Unit]
Description=Stop this notebook instance when Jupyter is idle
[Service]
Type=oneshot
# Not root: the notebook's own user (Jupyter runs as it and reads the instance metadata file);
# it needs only the instance role's credentials, which any local user gets from IMDS.
User=ec2-user
NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes
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
