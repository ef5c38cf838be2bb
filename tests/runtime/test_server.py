"""The HTTP server: container routes, status codes, and the sagemaker-runtime API path."""

from __future__ import annotations

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from sagestack.serving.config import ServeConfig
from sagestack.serving.endpoint import LocalEndpoint


def _post(endpoint: LocalEndpoint, body: bytes | str, **headers: str) -> requests.Response:
    return requests.post(endpoint.invocations_url, data=body, headers=headers, timeout=10)


def test_ping_is_200_with_an_empty_body(endpoint: LocalEndpoint) -> None:
    response = requests.get(f"{endpoint.url}/ping", timeout=5)
    assert (response.status_code, response.content) == (200, b"")


def test_invocations_tuple_return(endpoint: LocalEndpoint) -> None:
    response = _post(endpoint, "1,2", **{"Content-Type": "text/csv", "Accept": "text/csv"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.text == "w1|str|text/csv|text/csv|3"


def test_bytes_body_and_default_accept(endpoint: LocalEndpoint) -> None:
    response = _post(endpoint, b"\x01\x02", **{"Content-Type": "application/x-npy"})
    assert response.text == "w1|bytes|application/x-npy|application/json|2"


def test_response_object_with_a_4xx(endpoint: LocalEndpoint) -> None:
    response = _post(endpoint, "415", **{"Content-Type": "text/csv"})
    assert (response.status_code, response.text) == (415, "unsupported here")


def test_plain_string_is_html(endpoint: LocalEndpoint) -> None:
    response = _post(endpoint, "html", **{"Content-Type": "text/csv"})
    assert response.headers["Content-Type"] == "text/html; charset=utf-8"


def test_exception_is_500_and_the_server_keeps_serving(endpoint: LocalEndpoint) -> None:
    for _ in range(4):  # reach both workers
        response = _post(endpoint, "boom", **{"Content-Type": "text/csv"})
        assert response.status_code == 500
        assert "ValueError: boom from transform_fn" in response.text
    assert _post(endpoint, "1", **{"Content-Type": "text/csv"}).status_code == 200


def test_413_above_6_mib(endpoint: LocalEndpoint) -> None:
    assert _post(endpoint, b"1" * 6_291_456, **{"Content-Type": "text/csv"}).status_code == 200
    response = _post(endpoint, b"1" * 6_291_457, **{"Content-Type": "text/csv"})
    assert response.status_code == 413


def test_unknown_paths_and_methods(endpoint: LocalEndpoint) -> None:
    assert requests.get(f"{endpoint.url}/models", timeout=5).status_code == 404
    assert requests.get(endpoint.invocations_url, timeout=5).status_code == 405


def test_execution_parameters_are_404_as_in_the_script_mode_container(
    endpoint: LocalEndpoint,
) -> None:
    response = requests.get(f"{endpoint.url}/execution-parameters", timeout=5)
    assert response.status_code == 404


def test_execution_parameters_on_request_answer_like_the_algorithm_container() -> None:
    config = ServeConfig(model_dir="m", code_dir="c", workers=2, execution_parameters=True)
    assert config.execution_parameters_body() == {
        "MaxConcurrentTransforms": 2,
        "BatchStrategy": "MULTI_RECORD",
        "MaxPayloadInMB": 6,
    }


@pytest.fixture(scope="module")
def runtime(endpoint: LocalEndpoint):
    return boto3.client(
        "sagemaker-runtime",
        endpoint_url=endpoint.url,
        region_name="eu-west-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def test_boto3_invoke_endpoint(runtime) -> None:
    response = runtime.invoke_endpoint(
        EndpointName="my-endpoint", Body=b"1,2,3", ContentType="text/csv", Accept="text/csv"
    )
    assert response["Body"].read() == b"w1|str|text/csv|text/csv|5"
    assert response["ContentType"] == "text/csv; charset=utf-8"
    assert response["InvokedProductionVariant"] == "AllTraffic"


def test_boto3_sees_a_container_4xx_as_model_error(runtime) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="e", Body=b"415", ContentType="text/csv")
    error = caught.value.response
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 415
    assert error["OriginalMessage"] == "unsupported here"
    assert "Received client error (415)" in error["Error"]["Message"]


def test_boto3_sees_a_hook_exception_as_model_error(runtime) -> None:
    with pytest.raises(ClientError, match="Received server error \\(500\\)") as caught:
        runtime.invoke_endpoint(EndpointName="e", Body=b"boom", ContentType="text/csv")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 424


def test_boto3_oversized_body_is_a_validation_error(runtime) -> None:
    with pytest.raises(ClientError) as caught:
        runtime.invoke_endpoint(EndpointName="e", Body=b"1" * 6_291_457, ContentType="text/csv")
    assert caught.value.response["Error"]["Code"] == "ValidationError"
