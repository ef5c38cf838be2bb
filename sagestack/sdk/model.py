"""``Model``: subclass it, implement train() and predict(), then fit() and deploy() it.

This module is shipped into SageMaker containers with the user's module (so nothing has to be
installed there): at import time it needs numpy and the standard library only. fit() and
deploy() import the machinery that talks to the local runtime or to AWS when they are called.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

import numpy as np

from sagestack.sdk.dataset import (
    CSV,
    Dataset,
    MediaTypeError,
    decode_features,
    decode_predictions,
    encode_predictions,
    media_type,
)

if TYPE_CHECKING:
    import boto3

    from sagestack.sdk.instances import PredictorInstance, TrainingInstance
    from sagestack.sdk.packaging import ServingCode, TrainingCode
    from sagestack.sdk.predictor import Predictor
    from sagestack.sdk.runs import TrainingRun
    from sagestack.sdk.sources import S3DataSource

PICKLE_FILE = "model.pkl"
"""Where the default save() puts the fitted model, at the top of the model directory."""


class Model:
    """A machine-learning model the SageMaker way: ``train()`` fits, ``predict()`` scores.

    Implement in a subclass, defined at module level in a ``.py`` file of your own (that file
    is shipped to the training and serving containers and imported there by name)::

        class Logistic(Model):
            def train(self, train, validation, hyperparameters):
                return LogisticRegression(C=hyperparameters.get("C", 1.0)).fit(train.X, train.y)

            def predict(self, model, features):
                return model.predict_proba(features)[:, 1]

    ``train`` gets each channel as a :class:`Dataset` (read from CSV, label first, no header)
    and the decoded hyperparameters; what it returns is passed to ``save`` and, after ``load``,
    to ``predict`` with a 2-D float array of feature rows. The other hooks have defaults:
    ``save``/``load`` pickle to ``model.pkl``, ``evaluate`` reports no metrics, and the request
    and response codecs speak CSV and JSON.

    In the container the class is built as ``YourModel()``, so it must need no constructor
    arguments there; put settings in hyperparameters. Keyword arguments here only configure
    where fit()/deploy() run: ``image_uri`` (a container image with your libraries; default
    the pinned SageMaker XGBoost 3.2-0 image, which has numpy, scipy, pandas and xgboost but
    not scikit-learn. Training starts ``python3`` on your code with ``/bin/sh`` and ``tar``, and
    serving runs the SageMaker inference toolkit, so another image needs those too),
    ``environment`` (default ``$SAGESTACK_ENV`` or ``dev``), ``region`` and
    ``boto_session``.
    """

    default_image_uri: ClassVar[str | None] = None
    """The class's container image; the constructor's ``image_uri`` overrides it."""
    dependencies: ClassVar[tuple[str, ...]] = ()
    """Extra files or directories, relative to the module's file, shipped next to it."""
    metric_names: ClassVar[tuple[str, ...]] = ()
    """Names ``evaluate`` reports; on SageMaker they become train:/validation: metrics."""
    accept: ClassVar[str] = CSV
    """The response type a Predictor asks the endpoint for."""
    bundled: ClassVar[bool] = False
    """True for models whose code ships with SageStack (trained by the Training stack)."""

    def __init__(
        self,
        *,
        image_uri: str | None = None,
        environment: str | None = None,
        region: str | None = None,
        boto_session: boto3.Session | None = None,
    ) -> None:
        self.image_uri = image_uri or self.default_image_uri
        self.environment = environment
        self.region = region
        self.boto_session = boto_session
        self.last_run: TrainingRun | None = None

    # ---------------------------------------------------------------- what a subclass writes

    def train(
        self, train: Dataset, validation: Dataset | None, hyperparameters: dict[str, Any]
    ) -> Any:
        """Fit on ``train`` (``validation`` is None without that channel); return the model."""
        raise NotImplementedError(f"{type(self).__name__} must implement train()")

    def predict(self, model: Any, features: np.ndarray) -> np.ndarray:
        """Predictions for ``features`` (rows x columns), one row (or value) per input row."""
        raise NotImplementedError(f"{type(self).__name__} must implement predict()")

    # ------------------------------------------------------------- hooks with a default

    def save(self, model: Any, model_dir: str) -> None:
        """Write the fitted model into ``model_dir`` (default: pickle to ``model.pkl``).

        Everything in ``model_dir`` becomes model.tar.gz. Unpickling needs the same library
        versions where the model is served, so pick an image that matches your training one.
        """
        with open(os.path.join(model_dir, PICKLE_FILE), "wb") as handle:
            pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)

    def load(self, model_dir: str) -> Any:
        """Read back what :meth:`save` wrote (the extracted model.tar.gz)."""
        with open(os.path.join(model_dir, PICKLE_FILE), "rb") as handle:
            return pickle.load(handle)  # noqa: S301 - the model's own artifact

    def check_hyperparameters(self, hyperparameters: Mapping[str, Any]) -> None:
        """Raise before fit() launches anything if ``hyperparameters`` cannot be right; the
        default accepts any (``train`` reads what it wants)."""

    def evaluate(self, model: Any, data: Dataset) -> dict[str, float]:
        """Metrics of ``model`` on one channel, printed to the job log; default none."""
        return {}

    def read_channel(self, path: str, content_type: str | None) -> Dataset:
        """One channel directory as a Dataset; override to read another format."""
        if media_type(content_type) not in ("", CSV, "csv"):
            raise MediaTypeError(
                f"{type(self).__name__} reads CSV channels; got ContentType {content_type!r} "
                "(override read_channel to read it)"
            )
        return Dataset.from_csv(path)

    def decode_request(self, body: str | bytes, content_type: str | None) -> np.ndarray:
        """An invocation body as feature rows (CSV without the label, or JSON rows)."""
        return decode_features(body, content_type)

    def encode_response(self, predictions: Any, accept: str | None) -> tuple[str, str]:
        """Predictions as ``(body, content_type)``: CSV lines or ``{"predictions": [...]}``."""
        return encode_predictions(predictions, accept)

    def decode_response(self, body: bytes, content_type: str | None) -> np.ndarray:
        """What a Predictor returns for a response body (the inverse of encode_response)."""
        return decode_predictions(body, content_type)

    # ------------------------------------------------------ how it is shipped (host side)

    def training_code(self) -> TrainingCode:
        """The source directory and entry point a training job runs: by default the generic
        entry point, this class's module and the minimal ``sagestack`` base modules."""
        from sagestack.sdk.packaging import generic_training_code

        return generic_training_code(type(self))

    def serving_code(self) -> ServingCode:
        """Where the serving handlers come from: by default ``code/`` inside the model
        archive, which the generic entry point writes at the end of training."""
        from sagestack.sdk.packaging import embedded_serving_code

        return embedded_serving_code(type(self))

    # ------------------------------------------------------------------------ the SDK

    @overload
    def fit(
        self,
        training_instance: TrainingInstance,
        data: S3DataSource | Mapping[str, S3DataSource],
        hyperparameters: Mapping[str, Any] | None = None,
        wait: Literal[True] = True,
    ) -> S3DataSource: ...

    @overload
    def fit(
        self,
        training_instance: TrainingInstance,
        data: S3DataSource | Mapping[str, S3DataSource],
        hyperparameters: Mapping[str, Any] | None = None,
        wait: Literal[False] = ...,
    ) -> TrainingRun: ...

    def fit(
        self,
        training_instance: TrainingInstance,
        data: S3DataSource | Mapping[str, S3DataSource],
        hyperparameters: Mapping[str, Any] | None = None,
        wait: bool = True,
    ) -> S3DataSource | TrainingRun:
        """Train on ``data`` and return the S3DataSource of the model artifacts.

        ``data`` is one source (the ``train`` channel) or ``{"train": ..., "validation":
        ...}``. A ``"local"`` instance runs the job on this machine under the SageMaker
        contract; an ``ml.*`` instance runs it on the environment's deployed stacks (local
        ``file://`` data is uploaded to the data bucket first). ``wait=False`` returns at
        once with a :class:`~sagestack.sdk.runs.TrainingRun` (``status()``, ``wait()``).
        """
        from sagestack.sdk.backends import fit as run_fit

        run = run_fit(
            self, training_instance, data, dict(hyperparameters or {}), background=not wait
        )
        self.last_run = run
        return run.wait() if wait else run

    def deploy(
        self, predictor_instance: PredictorInstance, artifacts: S3DataSource | str
    ) -> Predictor:
        """Serve ``artifacts`` (what fit() returned) and return a Predictor.

        ``"local"`` starts the local multi-worker server; ``ml.*`` or serverless creates the
        SageMaker Model, EndpointConfig and Endpoint with the platform's role, key and VPC and
        waits until it is InService. ``Predictor.delete()`` removes what was created.
        """
        from sagestack.sdk.backends import deploy as run_deploy

        return run_deploy(self, predictor_instance, artifacts)
