"""``python -m sagestack.serving``: the supervisor process that LocalEndpoint starts."""

import sys

from sagestack.serving.supervisor import main

sys.exit(main())
