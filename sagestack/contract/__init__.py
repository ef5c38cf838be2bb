"""Facts of the SageMaker contract that the stacks, the SDK and the local runtime share.

Standard library only, so the CDK app, the SDK and the scripts shipped to the container can all
import it without pulling in each other's dependencies.
"""
