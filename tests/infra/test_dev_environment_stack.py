"""DevEnvironment stack: a locked-down notebook with the SDK and idle stop; the optional dev box."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.constructs.notebook import PLATFORM_IDENTIFIER
from stacks.nag import flatten_reference

from .conftest import ENVIRONMENTS, Synth


def _lifecycle_script(synth: Synth, env: str, hook_name: str) -> str:
    (config,) = synth.resources(
        env, "DevEnvironment", "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ).values()
    (hook,) = config["Properties"][hook_name]
    return flatten_reference(hook["Content"]["Fn::Base64"])


def _on_start_script(synth: Synth, env: str) -> str:
    return _lifecycle_script(synth, env, "OnStart")


def _only(resources: dict[str, Any]) -> dict[str, Any]:
    (resource,) = resources.values()
    return resource["Properties"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notebook_is_locked_down(synth: Synth, env: str) -> None:
    synth.template(env, "DevEnvironment").has_resource_properties(
        "AWS::SageMaker::NotebookInstance",
        {
            "DirectInternetAccess": "Disabled",
            "RootAccess": "Disabled",
            "PlatformIdentifier": PLATFORM_IDENTIFIER,
            "KmsKeyId": {"Fn::ImportValue": f"sagestack-{env}-data-key-arn"},
            "SubnetId": {"Fn::ImportValue": Match.string_like_regexp("Network:.*IsolatedSubnet1")},
            "SecurityGroupIds": [
                {"Fn::ImportValue": Match.string_like_regexp("WorkloadSecurityGroup")}
            ],
            "RoleArn": {"Fn::ImportValue": Match.string_like_regexp("NotebookRole")},
        },
    )
    assert PLATFORM_IDENTIFIER == "notebook-al2023-v1"


def test_notebook_settings_come_from_config(synth: Synth) -> None:
    props = _only(synth.resources("prod", "DevEnvironment", "AWS::SageMaker::NotebookInstance"))
    assert (props["InstanceType"], props["VolumeSizeInGB"]) == ("ml.t3.large", 50)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_physical_names_on_sagemaker_resources(synth: Synth, env: str) -> None:
    resources = synth.template_json(env, "DevEnvironment")["Resources"]
    for resource in resources.values():
        if resource["Type"].startswith("AWS::SageMaker::"):
            assert not {"NotebookInstanceName", "NotebookInstanceLifecycleConfigName"} & set(
                resource["Properties"]
            )


@pytest.mark.parametrize("hook", ["OnCreate", "OnStart"])
def test_lifecycle_starts_the_environment_install_in_the_background(
    synth: Synth, hook: str
) -> None:
    script = _lifecycle_script(synth, "dev", hook)
    assert "nohup setsid /usr/local/lib/sagestack/notebook_env.sh </dev/null" in script
    assert 'launch_env || echo "SageStack environment: the installer did not start"' in script
    assert len(base64.b64encode(script.encode())) < 16384  # the lifecycle content limit


def test_notebook_environment_comes_from_the_mirror_pinned_to_the_lock(synth: Synth) -> None:
    _assert_script(
        _on_start_script(synth, "dev"),
        'WHEEL="$STATE/sagestack-0.1.0-py3-none-any.whl"',
        'aws codeartifact get-authorization-token --domain "sagestack-dev"',
        '--domain-owner "<AWS::AccountId>"',
        '--repository "pypi"',
        '--constraint "$STATE/constraints.txt" "$WHEEL" ipykernel',
        "ipykernel install --user --name sagestack",
    )


def _assert_script(script: str, *fragments: str) -> None:
    """Every fragment is in the script, and nothing installs from a file instead of the mirror."""
    for fragment in fragments:
        assert fragment in script, fragment
    assert "--no-index" not in script


@pytest.mark.parametrize(("env", "minutes"), [("dev", 60), ("test", 30), ("prod", 120)])
def test_lifecycle_arms_the_idle_stop_with_configured_minutes(
    synth: Synth, env: str, minutes: int
) -> None:
    script = _on_start_script(synth, env)
    assert f"idle_stop.py --idle-minutes {minutes} --region <AWS::Region>" in script
    assert "systemctl enable --now sagestack-idle-stop.timer" in script
    # The unit does not run as root (issue 17, item 8).
    assert "\nUser=ec2-user\nNoNewPrivileges=yes\n" in script
    assert "def should_stop(" in script  # the script itself is embedded; nothing is fetched
    assert len(base64.b64encode(script.encode())) < 16384  # the lifecycle content limit


def test_notebook_role_may_read_exactly_the_wheel_before_first_start(synth: Synth) -> None:
    resources = synth.template_json("dev", "DevEnvironment")["Resources"]
    (notebook_id,) = [
        k for k, v in resources.items() if v["Type"] == "AWS::SageMaker::NotebookInstance"
    ]
    sdk_policy_id = resources[notebook_id]["DependsOn"][0]
    statement = resources[sdk_policy_id]["Properties"]["PolicyDocument"]["Statement"]
    assert statement[0]["Action"] == "s3:GetObject"
    # Exactly the wheel and its constraints file (in whatever order their hashes sort).
    objects = [flatten_reference(r) for r in statement[0]["Resource"]]
    assert sorted(key[-4:] for key in objects) == [".txt", ".whl"]
    assert _mirror_statements(statement[1:], "dev")


def _mirror_statements(statements: list[dict[str, Any]], env: str) -> bool:
    """The package mirror's read grants, exactly: token, endpoint + read, conditioned STS."""
    assert statements == [
        {
            "Action": "codeartifact:GetAuthorizationToken",
            "Effect": "Allow",
            "Resource": {"Fn::ImportValue": f"sagestack-{env}-codeartifact-domain-arn"},
        },
        {
            "Action": ["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"],
            "Effect": "Allow",
            "Resource": {"Fn::ImportValue": f"sagestack-{env}-codeartifact-repository-arn"},
        },
        {
            "Action": "sts:GetServiceBearerToken",
            "Condition": {"StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": "*",
        },
    ]
    return True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_notebook_accepts_imdsv2_only(synth: Synth, env: str) -> None:
    synth.template(env, "DevEnvironment").has_resource_properties(
        "AWS::SageMaker::NotebookInstance",
        {"InstanceMetadataServiceConfiguration": {"MinimumInstanceMetadataServiceVersion": "2"}},
    )


def test_idle_stop_policy_names_only_this_notebook(synth: Synth) -> None:
    synth.template("dev", "DevEnvironment").has_resource_properties(
        "AWS::IAM::ManagedPolicy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": [
                            "sagemaker:DescribeNotebookInstance",
                            "sagemaker:StopNotebookInstance",
                        ],
                        "Effect": "Allow",
                        "Resource": {
                            "Fn::GetAtt": [
                                Match.string_like_regexp("^Notebook"),
                                "NotebookInstanceArn",
                            ]
                        },
                    }
                ]
            }
        },
    )


def test_notebook_logical_id_is_pinned(synth: Synth) -> None:
    resources = synth.template_json("dev", "DevEnvironment")["Resources"]
    assert resources["Notebook985EE735"]["Type"] == "AWS::SageMaker::NotebookInstance"


def test_dev_box_only_where_enabled(synth: Synth) -> None:
    synth.template("dev", "DevEnvironment").resource_count_is("AWS::EC2::Instance", 1)
    for env in ("test", "prod"):
        synth.template(env, "DevEnvironment").resource_count_is("AWS::EC2::Instance", 0)


def test_dev_box_is_reachable_only_through_session_manager(synth: Synth) -> None:
    instance = _only(synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance"))
    assert "KeyName" not in instance
    assert "NetworkInterfaces" not in instance  # so no public IP association either
    (group,) = synth.resources("dev", "DevEnvironment", "AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    synth.template("dev", "DevEnvironment").resource_count_is("AWS::EC2::SecurityGroupIngress", 0)


def test_dev_box_requires_imdsv2_and_encrypts_its_root_volume(synth: Synth) -> None:
    template = synth.template("dev", "DevEnvironment")
    template.has_resource_properties(
        "AWS::EC2::LaunchTemplate",
        {"LaunchTemplateData": {"MetadataOptions": {"HttpTokens": "required"}}},
    )
    template.has_resource_properties(
        "AWS::EC2::Instance",
        {
            "InstanceType": "t3.medium",
            "Monitoring": True,
            "BlockDeviceMappings": [
                {
                    "DeviceName": "/dev/xvda",
                    "Ebs": Match.object_like(
                        {
                            "Encrypted": True,
                            "KmsKeyId": {"Fn::ImportValue": "sagestack-dev-data-key-arn"},
                            "VolumeSize": 30,
                        }
                    ),
                }
            ],
        },
    )


def test_dev_box_ami_comes_from_the_public_ssm_parameter(synth: Synth) -> None:
    template = synth.template_json("dev", "DevEnvironment")
    image = _only(synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance"))["ImageId"]
    parameter = template["Parameters"][image["Ref"]]
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>"
    assert parameter["Default"].startswith("/aws/service/ami-amazon-linux-latest/al2023-ami-")


def test_dev_box_user_data_installs_the_sdk_from_the_mirror(synth: Synth) -> None:
    instance = _only(synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance"))
    _assert_script(
        flatten_reference(instance["UserData"]["Fn::Base64"]),
        "dnf install -y -q python3.11 python3.11-pip",
        'WHEEL="$OPT/sagestack-0.1.0-py3-none-any.whl"',
        '--constraint "$OPT/constraints.txt" "$WHEEL"',
        '--domain "sagestack-dev"',
        'ln -sf "$OPT/venv/bin/sagestack" /usr/local/bin/sagestack',
    )


def test_dev_box_role_may_read_the_mirror(synth: Synth) -> None:
    (policy,) = synth.resources("dev", "DevEnvironment", "AWS::IAM::Policy").values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    mirror = [s for s in statements if "codeartifact" in str(s) or "sts:" in str(s)]
    assert _mirror_statements(mirror, "dev")


def test_dev_box_role_has_no_managed_policies_but_session_manager_channels(synth: Synth) -> None:
    roles = synth.resources("dev", "DevEnvironment", "AWS::IAM::Role")
    (role,) = roles.values()
    assert "ManagedPolicyArns" not in role["Properties"]
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"
    }
    (policy,) = synth.resources("dev", "DevEnvironment", "AWS::IAM::Policy").values()
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert {"ssmmessages:OpenDataChannel", "ssm:UpdateInstanceInformation"} <= actions


def test_both_installers_refuse_a_wheel_other_than_the_synthesized_one(synth: Synth) -> None:
    """Issue 17, item 8: the SDK wheel and constraints are checked against their sha256."""
    (wheel,) = synth.outdir.glob("asset.*.whl")
    (constraints,) = synth.outdir.glob("asset.*.txt")
    digests = {
        name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name, path in (("wheel", wheel), ("constraints", constraints))
    }
    instance = _only(synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance"))
    for script, folder in (
        (_on_start_script(synth, "dev"), "$STATE"),
        (flatten_reference(instance["UserData"]["Fn::Base64"]), "$OPT"),
    ):
        _assert_script(
            script,
            f'echo "{digests["wheel"]}  $WHEEL" | sha256sum --check --quiet --strict -',
            f'echo "{digests["constraints"]}  {folder}/constraints.txt" | sha256sum --check',
        )
