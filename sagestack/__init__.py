"""SageStack: SageMaker as code, with a local runtime.

``sagestack.local`` runs training jobs the way a SageMaker training container would (job dir
like /opt/ml, SM_* variables, both script-mode launch paths, model.tar.gz); ``sagestack.serving``
serves the inference handlers the way the script-mode serving container does, behind a
multi-worker HTTP server that boto3's sagemaker-runtime client can call. ``sagestack`` on the
command line wraps both.
"""
