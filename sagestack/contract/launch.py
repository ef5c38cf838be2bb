"""How our code starts in the official SageMaker XGBoost image when no package index is reachable.

The image's toolkit (sagemaker-containers 2.8.6.post2, with pip >= 25.3) runs
``python -m pip install .`` on the script-mode code directory before it trains and before it
serves. pip builds that directory in an isolated environment that downloads setuptools, so in our
VPCs (isolated subnets, network isolation on) the install fails: ``InstallModuleError``, a failed
training job, an endpoint that never answers ``/ping``. It also overwrites a failed script's
``/opt/ml/output/failure`` with ``ExecuteUserScriptError: Command ...``, so the script's own reason
never reaches ``DescribeTrainingJob.FailureReason``.

Two mechanisms, chosen per API:

- A training job is launched through ``AlgorithmSpecification.ContainerEntrypoint`` (the launch
  path SageMaker Python SDK v3 uses): the code arrives as the ``code`` channel, is unpacked and run
  directly. The toolkit never runs, so nothing is installed and the script's failure file is what
  SageMaker reports.
- Where the API has no entrypoint (a tuning job's training definition, a model's container), the
  toolkit still runs, with ``PIP_NO_BUILD_ISOLATION=false`` (pip's inverted boolean: it turns build
  isolation off) so its install uses the image's own setuptools and needs no index.
"""

from __future__ import annotations

import shlex

from sagestack.contract.paths import CODE_DIR, channel_dir

# The channel that carries the training code archive, and where SageMaker puts its files.
CODE_CHANNEL = "code"
CODE_CHANNEL_DIR = channel_dir(CODE_CHANNEL)

# The container environment for every launch that goes through the toolkit's install step.
TOOLKIT_OFFLINE_INSTALL_ENVIRONMENT = {"PIP_NO_BUILD_ISOLATION": "false"}


def training_entrypoint(archive_name: str, program: str) -> list[str]:
    """``ContainerEntrypoint`` that unpacks the code channel's archive and runs ``program``.

    The archive goes to CODE_DIR, the directory the toolkit itself would use, so a script sees
    the same layout on either launch path.

    ``exec`` makes the script the container's main process, so its exit code and its own
    ``/opt/ml/output/failure`` decide the job's status and ``FailureReason``.
    """
    archive = shlex.quote(f"{CODE_CHANNEL_DIR}/{archive_name}")
    script = (
        f"set -e; mkdir -p {CODE_DIR}; tar -xzf {archive} -C {CODE_DIR}; "
        f"cd {CODE_DIR}; exec python3 {shlex.quote(program)}"
    )
    return ["/bin/sh", "-c", script]
