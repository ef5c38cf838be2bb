"""The console's AWS mode in a real headless Chromium, against the dev environment deployed into
moto_server: `sagestack console --env dev` as a user starts it, boto3's default chain (dummy keys
in the environment, AWS_ENDPOINT_URL at moto). SAGESTACK_UPDATE_SCREENSHOTS=1 refreshes
docs/console/aws-*.png."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from waiting import free_port, running

from console.conftest import make_csv
from console.test_aws_routes import make_endpoint
from console.test_browser import _shot, page  # noqa: F401 - the page fixture
from sagestack.deployed.connection import Connection
from sagestack.deployed.training import execution_arn

pytestmark = pytest.mark.slow


SSO_CONFIG = """[profile team-dev]
sso_session = corp
sso_account_id = 123456789012
sso_role_name = DataScientist
region = us-east-1

[sso-session corp]
sso_start_url = https://example.awsapps.com/start
sso_region = us-east-1
"""


@contextmanager
def aws_console(env: Any, tmp_path: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    environ = {
        **os.environ,
        **env.environ(),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
        "HOME": str(tmp_path),  # no SSO token cache
    }
    environ.pop("AWS_PROFILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "sagestack.cli", "console", "--env", "dev", "--port", str(port)]
        + list(extra),
        cwd=tmp_path,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def up() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    with running(process, up, "the console to listen"):
        yield f"http://127.0.0.1:{port}"


def test_the_aws_pages_in_the_browser(aws_env: Any, page: Any, tmp_path: Path) -> None:  # noqa: F811
    train = make_csv(tmp_path / "train.csv", rows=60, header=False)
    validation = make_csv(tmp_path / "validation.csv", rows=30, header=False)
    make_endpoint(aws_env, "sagestack-xgboost-model-20261208-0300-ab12")
    with aws_console(aws_env, tmp_path) as url:
        page.goto(f"{url}/training-jobs/create")
        assert "123456789012" in page.inner_text("#aws-banner")
        page.fill("input[name=run_name]", "nightly_1!")
        page.fill("input[name=instance_type]", "m5.large")
        page.set_input_files("input[name=train_file]", str(train))
        page.click("#create-job")
        page.locator("#error-run_name").wait_for()
        assert "is not a SageMaker instance type" in page.inner_text("#error-instance_type")
        assert "validation channel" in page.inner_text("#error-validation")
        _shot(page, tmp_path, "aws-create-error")

        page.fill("input[name=run_name]", "nightly-1")
        page.fill("input[name=instance_type]", "ml.m5.xlarge")
        page.set_input_files("input[name=train_file]", str(train))
        page.set_input_files("input[name=validation_file]", str(validation))
        page.click("#create-job")
        page.wait_for_url(f"{url}/training-jobs/nightly-1")
        arn = execution_arn(Connection.open("dev").platform(), "nightly-1")
        job, package = aws_env.play_execution(
            arn,
            log_lines=tuple(f"[{i}]\ttrain-auc:0.9{i}\tvalidation-auc:0.8{i}" for i in range(8)),
        )
        page.reload()
        assert job in page.inner_text("#job-name")
        page.locator("#log", has_text="validation-auc:0.87").wait_for()
        _shot(page, tmp_path, "aws-training-run")

        page.goto(f"{url}/training-jobs")
        assert "nightly-1" in page.inner_text("#runs-table")
        _shot(page, tmp_path, "aws-training-runs")

        page.goto(f"{url}/registry")
        row = page.locator(f"tr:has(input[value='{package}'])")
        assert "PendingManualApproval" in row.inner_text()
        row.locator("input[name=description]").fill("validation AUC 0.97; reviewed by the team")
        row.locator("button[value=Approved]").click()
        page.wait_for_url(f"{url}/registry")
        row = page.locator(f"tr:has(input[value='{package}'])")
        assert "Approved" in row.inner_text()
        assert "reviewed by the team" in row.inner_text()
        _shot(page, tmp_path, "aws-registry")

        requests.post(
            f"{aws_env.url}/moto-api/static/sagemaker/endpoint-results",
            json={
                "results": [
                    {
                        "Body": '{"predictions": [{"score": 0.93}]}',
                        "ContentType": "application/json",
                    }
                ]
            },
            timeout=10,
        ).raise_for_status()
        page.goto(f"{url}/endpoints")
        assert "AllTraffic: ml.m5.large x1" in page.inner_text("#endpoints-table")
        page.click("text=sagestack-xgboost-model-20261208-0300-ab12")
        page.fill("#invoke-body", "0.12,-1.3,0.4,2.2")
        page.click("#invoke")
        page.locator("#invoke-response").wait_for()
        assert page.inner_text("#invoke-status") == "200"
        assert "0.93" in page.inner_text("#invoke-response")
        _shot(page, tmp_path, "aws-endpoint-test")

    # An SSO profile whose session was never started (or has expired): no token in the cache.
    (tmp_path / "no-config").write_text(SSO_CONFIG)
    with aws_console(aws_env, tmp_path, "--profile", "team-dev") as url:
        page.goto(f"{url}/training-jobs")
        assert page.inner_text("#credentials-command") == "aws sso login --profile team-dev"
        assert "SSO" in page.inner_text("#credentials-reason")
        _shot(page, tmp_path, "aws-credentials")
