"""What starts a training run unattended: a schedule, new objects under the train prefix."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.constructs.training.props import TrainingJobProps


def add_triggers(scope: Construct, p: TrainingJobProps, state_machine: sfn.StateMachine) -> None:
    """Start the state machine on the configured schedule and/or on new training data."""
    if p.schedule:
        events.Rule(
            scope,
            "ScheduleRule",
            description="Retrains on a schedule with the default input.",
            schedule=events.Schedule.expression(p.schedule),
            targets=[
                targets.SfnStateMachine(
                    state_machine,
                    input=events.RuleTargetInput.from_object({"trigger": "schedule"}),
                )
            ],
        )
    if p.trigger_on_new_data:
        key_filter = (
            events.Match.wildcard(f"{p.train_prefix}*{p.new_data_key_suffix}")
            if p.new_data_key_suffix
            else events.Match.prefix(p.train_prefix)
        )
        events.Rule(
            scope,
            "NewTrainingDataRule",
            description=f"Trains when new objects arrive under {p.train_prefix}.",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [p.data_bucket.bucket_name]},
                    "object": {"key": key_filter},
                },
            ),
            targets=[
                targets.SfnStateMachine(
                    state_machine,
                    input=events.RuleTargetInput.from_object(
                        {
                            "trigger": {
                                "bucket": events.EventField.from_path("$.detail.bucket.name"),
                                "key": events.EventField.from_path("$.detail.object.key"),
                            }
                        }
                    ),
                )
            ],
        )
