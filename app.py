"""CDK entry point: reads cdk.json context once and builds one Stage per environment."""

import sys

from stacks.build import build_app, config_of, create_app, read_cdk_json_context
from stacks.config_sections import ConfigError


def main() -> None:
    app = create_app(context=read_cdk_json_context())
    try:
        config = config_of(app)
    except ConfigError as error:
        sys.exit(f"Invalid SageStack configuration (cdk.json context): {error}")
    build_app(config, app)
    app.synth()


if __name__ == "__main__":
    main()
