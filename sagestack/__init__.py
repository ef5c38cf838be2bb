"""SageStack: SageMaker as code, with a local runtime."""
