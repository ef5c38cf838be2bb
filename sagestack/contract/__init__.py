"""The SageMaker contract, written once: what the stacks, the SDK, the local runtime and the
training scripts must agree on.

One module per kind of fact: ``paths`` (the /opt/ml tree), ``launch`` (how our code starts in
the XGBoost image), ``metrics`` (XGBoost's metric names, regexes and directions),
``hyperparameters`` (how values become CreateTrainingJob strings), ``discovery`` (the SSM
parameters the stacks publish for the SDK), ``prefixes`` (who writes where in the artifacts
bucket) and ``patterns`` (instance types and model package ARNs).

Standard library only, and no import of any other sagestack module: the CDK app, the SDK and
the scripts inside the container all import it, and none may pull in another's dependencies.

The training code archive carries this package as ``sagestack/__init__.py`` plus
``sagestack/contract/`` (``sagestack.paths.contract_files()``), so a script in /opt/ml/code
imports it as ``sagestack.contract.<module>``, the same name as everywhere else. That works
because ``sagestack/__init__.py`` is import-light (its exports resolve lazily, PEP 562): a
separate top-level name would have given the container a second spelling of every import and
one more module name a user's model file must not take. Keep ``sagestack/__init__.py`` free of
module-level imports beyond the standard library (tests/container proves it in the toolkit).
"""
