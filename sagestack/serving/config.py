"""Settings shared by the serving supervisor and its worker processes."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from sagestack.serving.asgi import MAX_PAYLOAD_BYTES


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """How to serve one model; travels to each worker as JSON on its command line.

    model_dir: the extracted model archive (the container's /opt/ml/model).
    code_dir: where the inference module is (SAGEMAKER_SUBMIT_DIRECTORY).
    program: SAGEMAKER_PROGRAM, a file or module name.
    port: 0 picks a free port (the supervisor resolves it before starting workers).
    execution_parameters: answer GET /execution-parameters like the algorithm-mode container;
        the default gives the script-mode container's 404 (what our handlers run under).
    environment: extra variables for the workers (the Model's container Environment).
    graceful_timeout_s: how long in-flight requests get on shutdown (SageMaker sends
        SIGKILL 30 s after SIGTERM, so the default stays under it).
    restart_backoff_s: first delay before restarting a dead worker; doubles (up to 10 s)
        while it keeps dying, resets once a worker has stayed up for 30 s.
    """

    model_dir: str
    code_dir: str
    program: str = "inference.py"
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    max_payload_bytes: int = MAX_PAYLOAD_BYTES
    execution_parameters: bool = False
    environment: dict[str, str] = field(default_factory=dict)
    graceful_timeout_s: float = 25.0
    startup_timeout_s: float = 120.0
    keep_alive_s: int = 75
    restart_backoff_s: float = 0.5

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))

    def execution_parameters_body(self) -> dict[str, object] | None:
        """The algorithm-mode container's answer (batch transform reads it)."""
        if not self.execution_parameters:
            return None
        return {
            "MaxConcurrentTransforms": self.workers,
            "BatchStrategy": "MULTI_RECORD",
            "MaxPayloadInMB": self.max_payload_bytes // (1024 * 1024),
        }
