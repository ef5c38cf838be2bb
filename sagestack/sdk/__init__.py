"""The SageStack SDK: Model subclasses trained and served locally or on the deployed stacks.

Nothing is imported here: ``sagestack.sdk.model`` and ``sagestack.sdk.dataset`` are shipped into
SageMaker containers next to the user's module and must import with numpy and the standard
library alone. The public names are re-exported lazily by ``sagestack``.
"""
