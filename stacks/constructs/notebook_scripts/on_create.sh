#!/bin/bash
# SageStack notebook on-create: start building the SageStack kernel's environment (background).
# Runs as root once, before the first on-start; must finish within 5 minutes; no internet.
set -uo pipefail

__LAUNCH_ENV__
