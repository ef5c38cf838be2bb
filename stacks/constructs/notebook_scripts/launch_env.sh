# Writes the environment installer (root-owned, outside the user-writable SageMaker folder) and
# starts it in the background; its log is /home/ec2-user/SageMaker/sagestack-install.log.
# Nothing here may fail the instance's start: the SDK install reports in its log instead.
launch_env() {
  mkdir -p /usr/local/lib/sagestack
  cat >/usr/local/lib/sagestack/notebook_env.sh <<'NOTEBOOK_ENV_SH'
__NOTEBOOK_ENV_SH__
NOTEBOOK_ENV_SH
  chmod 755 /usr/local/lib/sagestack/notebook_env.sh
  nohup setsid /usr/local/lib/sagestack/notebook_env.sh </dev/null >/dev/null 2>&1 &
}
launch_env || echo "SageStack environment: the installer did not start" >&2
