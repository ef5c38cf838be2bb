"""CDK entry point: reads cdk.json context once and builds one Stage per environment."""

from stacks.build import build_app, config_of, create_app, read_cdk_json_context


def main() -> None:
    app = create_app(context=read_cdk_json_context())
    build_app(config_of(app), app)
    app.synth()


if __name__ == "__main__":
    main()
