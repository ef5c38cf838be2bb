"""A deployed environment seen from outside: the AWS read and act calls the console and the CLI
share (``sagestack console --env``, ``status --env``, ``logs``, ``approve``).

Every call goes through boto3's default credential chain (or a named profile) and the values the
stacks publish in SSM (sagestack.sdk.platform); nothing here asks for keys. One module per unit:
connection (identity, stacks, credential problems), training (runs, jobs, logs, Create, uploads),
registry (model package versions, approval) and endpoints (variants, InvokeEndpoint).
"""
