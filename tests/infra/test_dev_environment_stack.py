"""DevEnvironment stack: a locked-down notebook with the SDK and idle stop; the optional dev box."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.constructs.notebook import PLATFORM_IDENTIFIER
from stacks.nag import flatten_reference

from .conftest import ENVIRONMENTS, Synth


def _on_start_script(synth: Synth, env: str) -> str:
    (config,) = synth.resources(
        env, "DevEnvironment", "AWS::SageMaker::NotebookInstanceLifecycleConfig"
    ).values()
    (hook,) = config["Properties"]["OnStart"]
    return flatten_reference(hook["Content"]["Fn::Base64"])


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


def test_lifecycle_installs_the_sdk_wheel_from_s3_without_dependencies(synth: Synth) -> None:
    script = _on_start_script(synth, "dev")
    assert 'WHEEL="/tmp/sagestack-0.1.0-py3-none-any.whl"' in script
    assert 'aws s3 cp "s3://cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/' in script
    assert 'install --quiet --no-deps --no-index --force-reinstall "$WHEEL"' in script
    assert "pip install " not in script.replace('"$pip" install', "")  # nothing from an index


@pytest.mark.parametrize(("env", "minutes"), [("dev", 60), ("test", 30), ("prod", 120)])
def test_lifecycle_arms_the_idle_stop_with_configured_minutes(
    synth: Synth, env: str, minutes: int
) -> None:
    script = _on_start_script(synth, env)
    assert f"idle_stop.py --idle-minutes {minutes} --region <AWS::Region>" in script
    assert "systemctl enable --now sagestack-idle-stop.timer" in script
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
    assert flatten_reference(statement[0]["Resource"]).endswith(".whl")


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


def test_dev_box_user_data_installs_the_sdk(synth: Synth) -> None:
    instance = _only(synth.resources("dev", "DevEnvironment", "AWS::EC2::Instance"))
    user_data = flatten_reference(instance["UserData"]["Fn::Base64"])
    assert (
        'python3.11 -m pip install --no-deps --no-index "/tmp/sagestack-0.1.0-py3-none-any.whl"'
        in user_data
    )


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
