"""Stand-in for the two functions of the XGBoost image that are not on PyPI.

The image's ``train`` and ``serve`` commands come from sagemaker-containers (installed here as
the image has it); they call ``SAGEMAKER_TRAINING_MODULE`` / ``SAGEMAKER_SERVING_MODULE``, which
in the image name ``sagemaker_xgboost_container.training:main`` and ``...serving:main``. That
package needs Python >= 3.12 and is not published, so these two functions do what its script-mode
branches do (aws/sagemaker-xgboost-container at 8450838: training.py ``train``, serving.py
``main`` and ``_user_module_transformer``), calling the toolkit for everything else: download,
the generated setup.py, the pip install, the process launch, failure files, the Flask worker.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import sagemaker_containers.beta.framework as framework
from sagemaker_containers.beta.framework import env, transformer, worker


def train() -> None:
    """training.py ``main``: run the user module through the toolkit (capture_error=False)."""
    training_env = framework.training_env()
    framework.modules.run_module(
        training_env.module_dir,
        training_env.to_cmd_args(),
        training_env.to_env_vars(),
        training_env.module_name,
        capture_error=False,
    )
    sys.exit(0)


def _transformer(user_module: Any) -> Any:
    """serving.py ``_user_module_transformer`` for a module with ``transform_fn``, which ours has
    (the image's branch for input_fn/predict_fn/output_fn is never reached by our code)."""
    if not hasattr(user_module, "transform_fn"):
        raise RuntimeError(f"{user_module.__name__} has no transform_fn; this stand-in needs one")
    model_fn = getattr(user_module, "model_fn", transformer.default_model_fn)
    return transformer.Transformer(model_fn=model_fn, transform_fn=user_module.transform_fn)


_app: Any = None


def main(environ: dict[str, Any], start_response: Any) -> Any:
    """serving.py ``main``: the gunicorn app, built on the first request of each worker."""
    global _app
    if _app is None:
        serving_env = env.ServingEnv()
        user_module = importlib.import_module(serving_env.module_name)
        user_transformer = _transformer(user_module)
        user_transformer.initialize()
        _app = worker.Worker(
            transform_fn=user_transformer.transform, module_name=serving_env.module_name
        )
    return _app(environ, start_response)
