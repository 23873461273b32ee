"""Safety properties of template.yaml, read offline (no SAM CLI, no AWS).

Every checker in tests/template_checks.py runs twice: on the real template (no problems
allowed) and on a copy with the one protection it guards removed (a problem must be
reported), so no check can pass vacuously.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests import template_checks as checks
from tests.cfn_template import (
    BUCKET,
    FUNCTION,
    ROOT,
    TABLE,
    Template,
    alarm_metrics,
    alarms,
    statements,
)


# ----------------------------------------------------------------- mutations: one protection removed
def res(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]


def props_of(t: Template, name: str) -> dict[str, Any]:
    return res(t, name)["Properties"]


def role_statement(t: Template, sid: str) -> dict[str, Any]:
    return next(s for s in checks.role_statements(t) if s.get("Sid") == sid)


def alarm_named(t: Template, metric: str) -> str:
    return next(
        n for n, p in alarms(t).items() if any(m["MetricName"] == metric for m in alarm_metrics(p))
    )


def dashboard_statements(t: Template) -> list[dict[str, Any]]:
    return statements(checks.dashboard_policy(t))


def schedule_event_props(t: Template) -> dict[str, Any]:
    events = props_of(t, FUNCTION)["Events"]
    props: dict[str, Any] = next(
        e["Properties"] for e in events.values() if e["Type"] == "ScheduleV2"
    )
    return props


def set_layer(t: Template, path: str) -> None:
    props_of(t, FUNCTION)["Layers"] = [path]


MUTATIONS: dict[str, tuple[checks.Checker, Callable[[Template], Any]]] = {
    "no bucket encryption": (
        checks.check_bucket_encrypted,
        lambda t: props_of(t, BUCKET).pop("BucketEncryption"),
    ),
    "versioning suspended": (
        checks.check_bucket_versioned,
        lambda t: props_of(t, BUCKET)["VersioningConfiguration"].update(Status="Suspended"),
    ),
    "public policies allowed": (
        checks.check_public_access_blocked,
        lambda t: props_of(t, BUCKET)["PublicAccessBlockConfiguration"].update(
            BlockPublicPolicy=False
        ),
    ),
    "no bucket policy": (
        checks.check_tls_only,
        lambda t: t["Resources"].pop("ArchiveBucketPolicy"),
    ),
    "TLS statement without condition": (
        checks.check_tls_only,
        lambda t: statements(props_of(t, "ArchiveBucketPolicy")["PolicyDocument"])[0].pop(
            "Condition"
        ),
    ),
    "TLS statement only on the bucket": (
        checks.check_tls_only,
        lambda t: statements(props_of(t, "ArchiveBucketPolicy")["PolicyDocument"])[0].update(
            Resource=[{"Fn::GetAtt": [BUCKET, "Arn"]}]
        ),
    ),
    "bucket deleted with the stack": (
        checks.check_retained,
        lambda t: res(t, BUCKET).update(DeletionPolicy="Delete"),
    ),
    "table replaced without retain": (
        checks.check_retained,
        lambda t: res(t, TABLE).pop("UpdateReplacePolicy"),
    ),
    "no PITR": (
        checks.check_table_recoverable_and_encrypted,
        lambda t: props_of(t, TABLE).pop("PointInTimeRecoverySpecification"),
    ),
    "no table encryption": (
        checks.check_table_recoverable_and_encrypted,
        lambda t: props_of(t, TABLE).pop("SSESpecification"),
    ),
    "index renamed": (
        checks.check_table_key_design,
        lambda t: props_of(t, TABLE)["GlobalSecondaryIndexes"][0].update(IndexName="by-day"),
    ),
    "SAM-generated role": (
        checks.check_function_uses_own_role,
        lambda t: props_of(t, FUNCTION).pop("Role"),
    ),
    "function Policies": (
        checks.check_function_uses_own_role,
        lambda t: props_of(t, FUNCTION).update(Policies=["AWSLambdaBasicExecutionRole"]),
    ),
    "managed policy on role": (
        checks.check_function_uses_own_role,
        lambda t: checks.function_role(t)["Properties"].update(
            ManagedPolicyArns=["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
        ),
    ),
    "wildcard s3 action": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "ReadWriteArchiveObjects")["Action"].append("s3:*"),
    ),
    "delete item": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "ReadWriteArchiveTable")["Action"].append(
            "dynamodb:DeleteItem"
        ),
    ),
    "scan": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "ReadWriteArchiveTable")["Action"].append("dynamodb:Scan"),
    ),
    "whole bucket objects": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "ReadWriteArchiveObjects").update(
            Resource={"Fn::Sub": "${ArchiveBucket.Arn}/*"}
        ),
    ),
    "table resource star": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "ReadWriteArchiveTable").update(Resource="*"),
    ),
    "logs on every group": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "WriteOwnLogs").update(Resource="*"),
    ),
    "NotAction": (
        checks.check_function_role_least_privilege,
        lambda t: role_statement(t, "WriteTraces").update(NotAction=["iam:*"]),
    ),
    "no reserved concurrency": (
        checks.check_reserved_concurrency,
        lambda t: props_of(t, FUNCTION).pop("ReservedConcurrentExecutions"),
    ),
    "no retry policy": (
        checks.check_schedule,
        lambda t: schedule_event_props(t).pop("RetryPolicy"),
    ),
    "no scheduler DLQ": (
        checks.check_schedule,
        lambda t: schedule_event_props(t).pop("DeadLetterConfig"),
    ),
    "fixed schedule": (
        checks.check_schedule,
        lambda t: schedule_event_props(t).update(ScheduleExpression="rate(1 hour)"),
    ),
    "no schedule": (checks.check_schedule, lambda t: props_of(t, FUNCTION).pop("Events")),
    "no on-failure destination": (
        checks.check_async_failures_reported,
        lambda t: props_of(t, FUNCTION).pop("EventInvokeConfig"),
    ),
    "no errors alarm": (
        checks.check_alarms,
        lambda t: t["Resources"].pop(alarm_named(t, "Errors")),
    ),
    "no DLQ alarm": (
        checks.check_alarms,
        lambda t: t["Resources"].pop(alarm_named(t, "ApproximateNumberOfMessagesVisible")),
    ),
    "no feed failures alarm": (
        checks.check_alarms,
        lambda t: t["Resources"].pop(alarm_named(t, "FeedFailures")),
    ),
    "no staleness alarm": (
        checks.check_alarms,
        lambda t: t["Resources"].pop(alarm_named(t, "SecondsSinceLastSuccess")),
    ),
    "silence is fine": (
        checks.check_alarms,
        lambda t: props_of(t, alarm_named(t, "SecondsSinceLastSuccess")).update(
            TreatMissingData="notBreaching"
        ),
    ),
    "alarm notifies nobody": (
        checks.check_alarms,
        lambda t: props_of(t, alarm_named(t, "Errors")).pop("AlarmActions"),
    ),
    "no e-mail subscription": (
        checks.check_alarm_email_optional,
        lambda t: t["Resources"].pop("AlarmEmailSubscription"),
    ),
    "alarm in another namespace": (
        checks.check_metric_names_match_function,
        lambda t: props_of(t, alarm_named(t, "FeedFailures")).update(Namespace="Other"),
    ),
    "dashboard may write": (
        checks.check_dashboard_policy_read_only,
        lambda t: dashboard_statements(t)[-1]["Action"].append("dynamodb:PutItem"),
    ),
    "dashboard may delete objects": (
        checks.check_dashboard_policy_read_only,
        lambda t: dashboard_statements(t)[0].update(Action=["s3:GetObject", "s3:DeleteObject"]),
    ),
    "dashboard wildcard": (
        checks.check_dashboard_policy_read_only,
        lambda t: dashboard_statements(t)[0].update(Action="s3:Get*"),
    ),
    "dashboard policy not an output": (
        checks.check_outputs,
        lambda t: t["Outputs"].pop("DashboardReadPolicyArn"),
    ),
    "no topic output": (checks.check_outputs, lambda t: t["Outputs"].pop("AlarmTopicArn")),
    "layer version drifts from the lock": (
        checks.check_powertools_layer_pinned,
        lambda t: set_layer(
            t, "{{resolve:ssm:/aws/service/powertools/python/arm64/python3.13/3.0.0}}"
        ),
    ),
    "layer for the other architecture": (
        checks.check_powertools_layer_pinned,
        lambda t: t["Globals"]["Function"].update(Architectures=["x86_64"]),
    ),
    "old runtime": (
        checks.check_runtime,
        lambda t: t["Globals"]["Function"].update(Runtime="python3.9"),
    ),
    "no tracing": (checks.check_runtime, lambda t: t["Globals"]["Function"].pop("Tracing")),
    "plain-text queue": (
        checks.check_queue_encrypted,
        lambda t: props_of(t, "FailedRunsQueue").pop("SqsManagedSseEnabled"),
    ),
    "raw kept forever": (
        checks.check_lifecycle,
        lambda t: props_of(t, BUCKET)["LifecycleConfiguration"]["Rules"].pop(0),
    ),
    "archive expires": (
        checks.check_lifecycle,
        lambda t: props_of(t, BUCKET)["LifecycleConfiguration"]["Rules"][0].pop("Prefix"),
    ),
}


# ----------------------------------------------------------------- tests
@pytest.fixture
def stack(template: Template) -> Template:
    """A private copy of template.yaml (conftest's `template`) that a test may change."""
    return copy.deepcopy(template)


@pytest.mark.parametrize(
    "checker", checks.CHECKERS, ids=lambda c: c.__name__.removeprefix("check_")
)
def test_template_has_the_safety_property(stack: Template, checker: checks.Checker) -> None:
    # Given the template as committed
    # When the property is checked
    problems = checker(stack)
    # Then nothing is missing
    assert problems == []


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_check_fails_when_the_protection_is_removed(stack: Template, name: str) -> None:
    # Given the template with one protection taken out
    checker, remove = MUTATIONS[name]
    remove(stack)
    # When the property is checked
    problems = checker(stack)
    # Then the checker reports it
    assert problems, f"{checker.__name__} did not notice: {name}"


def test_every_checker_has_a_mutation() -> None:
    # Given the checkers and the mutations that remove what they protect
    covered = {checker for checker, _ in MUTATIONS.values()}
    # Then no checker goes without a test that it can fail
    assert [c.__name__ for c in checks.CHECKERS if c not in covered] == []


def test_function_artifact_carries_only_feedparser() -> None:
    # Given the requirements SAM installs into the function artifact
    lines = (ROOT / "functions" / "requirements.txt").read_text("utf-8").splitlines()
    names = {
        re.split(r"[=<>~!\[; ]", line, maxsplit=1)[0].lower()
        for line in map(str.strip, lines)
        if line and not line.startswith("#")
    }
    # Then boto3 comes from the runtime and Powertools from its layer, not the artifact
    assert names == {"feedparser"}


def test_sample_scheduler_event_matches_the_schedule_input(stack: Template) -> None:
    # Given the payload the schedule sends and the sample event for `sam local invoke`
    sent = json.loads(checks.schedule_event(stack)["Input"])
    sample = json.loads((ROOT / "events" / "scheduled-run.json").read_text("utf-8"))
    # Then the sample has the same fields, with the placeholders filled in
    assert sample.keys() == sent.keys()
    assert not any("<aws.scheduler." in str(v) for v in sample.values())
