"""Model subclasses that need numpy only, as a user's own module file (shipped to the container)."""

from __future__ import annotations

from typing import Any

import numpy as np

from sagestack import Dataset, Model


class NearestCentroid(Model):
    """Scores each row by how much closer it is to the positive class's mean than the other's."""

    metric_names = ("accuracy",)

    def train(
        self, train: Dataset, validation: Dataset | None, hyperparameters: dict[str, Any]
    ) -> dict[str, Any]:
        scale = float(hyperparameters.get("scale", 1.0))
        return {
            "positive": train.X[train.y > 0.5].mean(axis=0),
            "negative": train.X[train.y <= 0.5].mean(axis=0),
            "scale": scale,
        }

    def predict(self, model: dict[str, Any], features: np.ndarray) -> np.ndarray:
        to_negative = np.linalg.norm(features - model["negative"], axis=1)
        to_positive = np.linalg.norm(features - model["positive"], axis=1)
        return 1.0 / (1.0 + np.exp(-model["scale"] * (to_negative - to_positive)))

    def evaluate(self, model: dict[str, Any], data: Dataset) -> dict[str, float]:
        return {"accuracy": float(np.mean((self.predict(model, data.X) > 0.5) == data.y))}


class Exploding(NearestCentroid):
    def train(self, train: Dataset, validation: Dataset | None, hyperparameters: dict[str, Any]):  # type: ignore[no-untyped-def]
        raise ValueError(f"alpha must be positive, got {hyperparameters.get('alpha')}")


class NeedsArguments(NearestCentroid):
    def __init__(self, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
