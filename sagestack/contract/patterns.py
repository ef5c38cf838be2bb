"""What a SageMaker instance type and a model package ARN look like, checked before any API call.

Both follow the SageMaker API (botocore's service model for sagemaker 2017-07-24): instance
types are ``ml.<family>.<size>``, and families may hold a hyphen (``ml.c7i-flex.large``,
``ml.p6-b200.48xlarge``); ``ModelPackageArn`` has the pattern
``arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]{9,16}:[0-9]{12}:model-package/[\\S]{1,2048}``.
"""

from __future__ import annotations

import re

ML_INSTANCE_TYPE = re.compile(r"^ml\.(?P<family>[a-z][a-z0-9-]*)\.[a-z0-9]+\Z")
"""``ml.m5.xlarge``; the ``family`` group is ``m5``."""
MODEL_PACKAGE_ARN = re.compile(
    r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]{9,16}:[0-9]{12}:model-package/\S{1,2048}\Z"
)
"""A versioned model package: ``arn:aws:sagemaker:<region>:<account>:model-package/<group>/<n>``."""


def is_ml_instance_type(value: str) -> bool:
    return ML_INSTANCE_TYPE.match(value) is not None


def is_model_package_arn(value: str) -> bool:
    return MODEL_PACKAGE_ARN.match(value) is not None
