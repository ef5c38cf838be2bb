"""``Predictor``: a deployed model you call with feature rows, local or on SageMaker."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

import numpy as np

from sagestack.sdk.dataset import CSV, features_matrix, format_csv
from sagestack.sdk.errors import PredictionError

if TYPE_CHECKING:
    from sagestack.sdk.model import Model

# InvokeEndpoint's request limit (6 MB, AWS docs: InvokeEndpoint, Body)
MAX_BODY_BYTES = 6 * 1024 * 1024


class Predictor(ABC):
    """An endpoint serving one model.

    ``predict(rows)`` sends the rows as CSV (no label column) and returns what the model's
    ``decode_response`` makes of the answer, normally a numpy array with one entry (or row)
    per input row. ``delete()`` removes the endpoint; a ``with`` block calls it on exit.
    """

    def __init__(self, model: Model, endpoint_name: str) -> None:
        self.model = model
        self.endpoint_name = endpoint_name

    def predict(self, rows: Any) -> np.ndarray:
        body = format_csv(features_matrix(rows)).encode("utf-8")
        if len(body) > MAX_BODY_BYTES:
            raise ValueError(
                f"{len(body)} bytes of CSV is over the 6 MiB an endpoint accepts per request; "
                "send the rows in smaller batches"
            )
        status, content_type, payload = self._invoke(body, CSV, self.model.accept)
        if not 200 <= status < 300:
            raise PredictionError(status, payload.decode("utf-8", "replace").strip())
        return self.model.decode_response(payload, content_type)

    @abstractmethod
    def _invoke(self, body: bytes, content_type: str, accept: str) -> tuple[int, str | None, bytes]:
        """One request: (status, response content type, response body)."""

    @abstractmethod
    def delete(self) -> None:
        """Stop serving and remove what deploy() created; safe to call twice."""

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.delete()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint_name}>"
