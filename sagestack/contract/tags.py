"""The tag that says which SageStack environment a resource belongs to.

The stacks put it on every resource of an environment and the SDK on every SageMaker resource it
creates; the workbench roles may create, change, invoke and delete only resources whose tag
names their own environment (stacks/constructs/workbench.py), so two environments in one
account cannot touch each other's jobs and endpoints.
"""

from __future__ import annotations

ENVIRONMENT_TAG = "sagestack:environment"
