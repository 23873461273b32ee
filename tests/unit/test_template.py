"""Safety properties of template.yaml, read offline (no SAM CLI, no AWS).

Every checker in tests/template_checks.py runs twice: on the real template (no problems
allowed) and on a copy with the one protection it guards removed (a problem must be
reported), so no check can pass vacuously. The checks of the deploy configuration read
samconfig.toml along with the template.
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
    SamConfig,
    Template,
    alarm_metrics,
    alarms,
    deploy_parameters,
    load_samconfig,
    referenced_id,
    statements,
)

# The security audit's findings as rows of docs/reliability.md: each row is
# the check on the real template plus every mutation that removes what it guards.
AUDIT = "Security audit (template)"
AUDIT_CASES: dict[str, tuple[str, str]] = {
    "check_scheduler_trusts_only_its_schedules": (
        "EventBridge Scheduler role and the confused deputy",
        "the schedule's role is written out (not SAM's) and trusts scheduler.amazonaws.com only "
        "with aws:SourceAccount of this account and aws:SourceArn of this stack's schedule group",
    ),
    "check_scheduler_role_least_privilege": (
        "EventBridge Scheduler role: least privilege",
        "the role may only invoke the archiver and send to the failed-runs queue",
    ),
    "check_dashboard_policy_exact": (
        "the dashboard's policy grants exactly what the dashboard sends",
        "its (action, resource) pairs equal the requests the dashboard sends over a moto "
        "archive: DynamoDB Query on the table and on the by-month index, nothing else",
    ),
    "check_access_logging_option": (
        "S3 server access logging is an option",
        "a parameter, off by default; on, a log bucket with SSE-S3, public access blocked, no "
        "ACLs, expiring logs, and a policy letting S3 deliver only the archive bucket's logs",
    ),
    "check_production_table_protected": (
        "table deletion protection in production",
        "DeletionProtectionEnabled follows a parameter that the prod samconfig sets on explicitly",
    ),
    "check_production_requires_alarm_email": (
        "a production deploy without an alarm address refuses",
        "a template Rule asserts AlarmEmail is set when Environment is the value the prod "
        "samconfig sets",
    ),
}


def audit(checker: Callable[..., list[str]]) -> list[pytest.MarkDecorator]:
    """The reliability marker of an audit finding's checker (none for the others)."""
    if checker.__name__ not in AUDIT_CASES:
        return []
    case, must_hold = AUDIT_CASES[checker.__name__]
    return [pytest.mark.reliability(group=AUDIT, case=case, must_hold=must_hold)]


# ----------------------------------------------------------------- mutations: one protection removed
def res(t: Template, name: str) -> dict[str, Any]:
    return t["Resources"][name]


def props_of(t: Template, name: str) -> dict[str, Any]:
    return res(t, name)["Properties"]


def role_statement(t: Template, sid: str) -> dict[str, Any]:
    return next(s for s in checks.role_statements(t) if s.get("Sid") == sid)


def alarm_named(t: Template, metric: str, on: str | None = None) -> str:
    """The alarm reading `metric` (of resource `on`, when given: other queues have alarms too)."""
    return next(
        n
        for n, p in alarms(t).items()
        for m in alarm_metrics(p)
        if m["MetricName"] == metric
        and (on is None or on in {referenced_id(d["Value"]) for d in m.get("Dimensions", [])})
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


def schedule_trust(t: Template) -> dict[str, Any]:
    document = checks.schedule_role(t)["Properties"]["AssumeRolePolicyDocument"]
    return statements(document)[0]


def schedule_role_statements(t: Template) -> list[dict[str, Any]]:
    return [
        s
        for p in checks.schedule_role(t)["Properties"]["Policies"]
        for s in statements(p["PolicyDocument"])
    ]


def log_bucket(t: Template) -> dict[str, Any]:
    logging = props_of(t, BUCKET)["LoggingConfiguration"]["Fn::If"][1]
    return res(t, logging["DestinationBucketName"]["Ref"])


def log_delivery_statement(t: Template) -> dict[str, Any]:
    policies = checks.resources_of_type(t, "AWS::S3::BucketPolicy").values()
    return next(
        s
        for p in policies
        for s in statements(p["Properties"]["PolicyDocument"])
        if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
    )


def set_prod_parameter(config: SamConfig, name: str, value: str | None) -> None:
    """Change (or with None, drop) one parameter of the prod deploy configuration."""
    parameters = deploy_parameters(config, checks.PRODUCTION)
    if value is None:
        parameters.pop(name)
    else:
        parameters[name] = value
    config[checks.PRODUCTION]["deploy"]["parameters"]["parameter_overrides"] = " ".join(
        f'{k}="{v}"' for k, v in parameters.items()
    )


def email_rule(t: Template) -> dict[str, Any]:
    rule: dict[str, Any] = next(iter(t["Rules"].values()))
    return rule


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
        lambda t: t["Resources"].pop(
            alarm_named(t, "ApproximateNumberOfMessagesVisible", "FailedRunsQueue")
        ),
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
    "SAM-generated schedule role": (
        checks.check_scheduler_trusts_only_its_schedules,
        lambda t: schedule_event_props(t).pop("RoleArn"),
    ),
    "schedule role trusts any caller": (
        checks.check_scheduler_trusts_only_its_schedules,
        lambda t: schedule_trust(t).pop("Condition"),
    ),
    "schedule role trusts other accounts": (
        checks.check_scheduler_trusts_only_its_schedules,
        lambda t: schedule_trust(t)["Condition"].pop("StringEquals"),
    ),
    "schedule role trusts every schedule": (
        checks.check_scheduler_trusts_only_its_schedules,
        lambda t: schedule_trust(t)["Condition"]["ArnLike"].update(
            {
                "aws:SourceArn": {
                    "Fn::Sub": "arn:${AWS::Partition}:scheduler:${AWS::Region}:"
                    "${AWS::AccountId}:schedule-group/*"
                }
            }
        ),
    ),
    "schedule in the default group": (
        checks.check_scheduler_trusts_only_its_schedules,
        lambda t: schedule_event_props(t).pop("GroupName"),
    ),
    "schedule role invokes anything": (
        checks.check_scheduler_role_least_privilege,
        lambda t: schedule_role_statements(t)[0].update(Resource="*"),
    ),
    "schedule role may publish": (
        checks.check_scheduler_role_least_privilege,
        lambda t: schedule_role_statements(t)[1].update(Action=["sqs:SendMessage", "sns:Publish"]),
    ),
    "dashboard reads objects": (
        checks.check_dashboard_policy_exact,
        lambda t: dashboard_statements(t).append(
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": {"Fn::Sub": "${ArchiveBucket.Arn}/*"},
            }
        ),
    ),
    "dashboard gets single items": (
        checks.check_dashboard_policy_exact,
        lambda t: dashboard_statements(t)[0]["Action"].append("dynamodb:GetItem"),
    ),
    "dashboard cannot query the index": (
        checks.check_dashboard_policy_exact,
        lambda t: dashboard_statements(t)[0]["Resource"].pop(),
    ),
    "archive bucket not logged": (
        checks.check_access_logging_option,
        lambda t: props_of(t, BUCKET).pop("LoggingConfiguration"),
    ),
    "access logging on by default": (
        checks.check_access_logging_option,
        lambda t: t["Parameters"]["AccessLogging"].update(Default="ENABLED"),
    ),
    "log bucket whatever the option": (
        checks.check_access_logging_option,
        lambda t: log_bucket(t).pop("Condition"),
    ),
    "log bucket public": (
        checks.check_access_logging_option,
        lambda t: log_bucket(t)["Properties"].pop("PublicAccessBlockConfiguration"),
    ),
    "log bucket with ACLs": (
        checks.check_access_logging_option,
        lambda t: log_bucket(t)["Properties"].pop("OwnershipControls"),
    ),
    "log bucket under a KMS key": (
        checks.check_access_logging_option,
        lambda t: log_bucket(t)["Properties"]["BucketEncryption"][
            "ServerSideEncryptionConfiguration"
        ][0]["ServerSideEncryptionByDefault"].update(SSEAlgorithm="aws:kms"),
    ),
    "access logs kept forever": (
        checks.check_access_logging_option,
        lambda t: log_bucket(t)["Properties"].pop("LifecycleConfiguration"),
    ),
    "any bucket may deliver logs": (
        checks.check_access_logging_option,
        lambda t: log_delivery_statement(t).pop("Condition"),
    ),
}

# ----------------------------------------------------------------- article capture (issue 12)
CAPTURE = checks.CAPTURE_FUNCTION


def capture_queue_props(t: Template) -> dict[str, Any]:
    return props_of(t, checks.capture_queue(t)[0])


def capture_event_props(t: Template) -> dict[str, Any]:
    props: dict[str, Any] = props_of(t, CAPTURE)["Events"]["Queue"]["Properties"]
    return props


def capture_role_statement(t: Template, sid: str) -> dict[str, Any]:
    role = res(t, referenced_id(props_of(t, CAPTURE)["Role"]) or "")
    return next(
        s
        for p in role["Properties"]["Policies"]
        for s in statements(p["PolicyDocument"])
        if s.get("Sid") == sid
    )


def drop_archiver_statement(t: Template, sid: str) -> None:
    for policy in checks.function_role(t)["Properties"]["Policies"]:
        document = policy["PolicyDocument"]
        document["Statement"] = [s for s in statements(document) if s.get("Sid") != sid]


AUDIT_CASES.update(
    {
        "check_capture_queue_has_dead_letter_queue": (
            "failed article captures are retried, then set aside",
            "the capture queue redrives to a dead-letter queue after at most 10 receives, its "
            "visibility timeout is ≥ 6 × the function's timeout, and only failed messages of a "
            "batch come back (ReportBatchItemFailures)",
        ),
        "check_capture_dead_letter_alarm": (
            "a capture in the dead-letter queue raises an alarm",
            "an alarm to the SNS topic fires on one visible message in the capture DLQ",
        ),
        "check_capture_concurrency_bounded": (
            "article captures run with bounded concurrency",
            "the SQS event source's MaximumConcurrency is at most 2 and the function reserves "
            "exactly that many",
        ),
    }
)

CAPTURE_MUTATIONS: dict[str, tuple[checks.Checker, Callable[[Template], Any]]] = {
    "capture queue without a DLQ": (
        checks.check_capture_queue_has_dead_letter_queue,
        lambda t: capture_queue_props(t).pop("RedrivePolicy"),
    ),
    "captures retried forever": (
        checks.check_capture_queue_has_dead_letter_queue,
        lambda t: capture_queue_props(t)["RedrivePolicy"].update(maxReceiveCount=1000),
    ),
    "capture visibility under the function's timeout": (
        checks.check_capture_queue_has_dead_letter_queue,
        lambda t: capture_queue_props(t).update(VisibilityTimeout=300),
    ),
    "one failed capture retries its batch": (
        checks.check_capture_queue_has_dead_letter_queue,
        lambda t: capture_event_props(t).pop("FunctionResponseTypes"),
    ),
    "no capture DLQ alarm": (
        checks.check_capture_dead_letter_alarm,
        lambda t: t["Resources"].pop(
            alarm_named(
                t, "ApproximateNumberOfMessagesVisible", checks.capture_dead_letter_queue(t)
            )
        ),
    ),
    "capture DLQ alarm waits for ten": (
        checks.check_capture_dead_letter_alarm,
        lambda t: alarms(t)[
            alarm_named(
                t, "ApproximateNumberOfMessagesVisible", checks.capture_dead_letter_queue(t)
            )
        ].update(Threshold=10),
    ),
    "capture concurrency unbounded": (
        checks.check_capture_concurrency_bounded,
        lambda t: capture_event_props(t).pop("ScalingConfig"),
    ),
    "capture concurrency raised": (
        checks.check_capture_concurrency_bounded,
        lambda t: capture_event_props(t)["ScalingConfig"].update(MaximumConcurrency=100),
    ),
    "capture function not reserved": (
        checks.check_capture_concurrency_bounded,
        lambda t: props_of(t, CAPTURE).pop("ReservedConcurrentExecutions"),
    ),
    "capture role writes the whole bucket": (
        checks.check_capture_role_least_privilege,
        lambda t: capture_role_statement(t, "ReadWriteItemsAndCaptures").update(
            Resource={"Fn::Sub": "${ArchiveBucket.Arn}/*"}
        ),
    ),
    "capture role deletes objects": (
        checks.check_capture_role_least_privilege,
        lambda t: capture_role_statement(t, "ReadWriteItemsAndCaptures")["Action"].append(
            "s3:DeleteObject"
        ),
    ),
    "capture role reads every queue": (
        checks.check_capture_role_least_privilege,
        lambda t: capture_role_statement(t, "ConsumeCaptureQueue").update(Resource="*"),
    ),
    "archiver does not know the capture queue": (
        checks.check_archiver_enqueues_captures,
        lambda t: props_of(t, FUNCTION)["Environment"]["Variables"].pop("CAPTURE_QUEUE_URL"),
    ),
    "archiver may not enqueue captures": (
        checks.check_archiver_enqueues_captures,
        lambda t: drop_archiver_statement(t, "EnqueueCaptures"),
    ),
}
MUTATIONS.update(CAPTURE_MUTATIONS)


CONFIG_MUTATIONS: dict[str, tuple[checks.ConfigChecker, Callable[[Template, SamConfig], Any]]] = {
    "table without deletion protection": (
        checks.check_production_table_protected,
        lambda t, c: props_of(t, TABLE).pop("DeletionProtectionEnabled"),
    ),
    "prod table unprotected": (
        checks.check_production_table_protected,
        lambda t, c: set_prod_parameter(c, "TableDeletionProtection", "DISABLED"),
    ),
    "prod relies on the template's default": (
        checks.check_production_table_protected,
        lambda t, c: set_prod_parameter(c, "TableDeletionProtection", None),
    ),
    "no rule": (
        checks.check_production_requires_alarm_email,
        lambda t, c: t.pop("Rules"),
    ),
    "rule asserts nothing": (
        checks.check_production_requires_alarm_email,
        lambda t, c: email_rule(t).update(Assertions=[]),
    ),
    "rule for another environment": (
        checks.check_production_requires_alarm_email,
        lambda t, c: email_rule(t)["RuleCondition"]["Fn::Equals"].__setitem__(1, "production"),
    ),
    "prod config is not prod": (
        checks.check_production_requires_alarm_email,
        lambda t, c: set_prod_parameter(c, "Environment", None),
    ),
}


# ----------------------------------------------------------------- tests
@pytest.fixture
def stack(template: Template) -> Template:
    """A private copy of template.yaml (conftest's `template`) that a test may change."""
    return copy.deepcopy(template)


@pytest.fixture
def deploy_config() -> SamConfig:
    """samconfig.toml as committed, read afresh so that a test may change it."""
    return load_samconfig()


def by_checker(checkers: list[Any]) -> list[Any]:
    return [pytest.param(c, marks=audit(c), id=c.__name__.removeprefix("check_")) for c in checkers]


def by_mutation(mutations: dict[str, tuple[Any, Any]]) -> list[Any]:
    return [
        pytest.param(name, marks=audit(mutations[name][0]), id=name) for name in sorted(mutations)
    ]


@pytest.mark.parametrize("checker", by_checker(checks.CHECKERS))
def test_template_has_the_safety_property(stack: Template, checker: checks.Checker) -> None:
    # Given the template as committed
    # When the property is checked
    problems = checker(stack)
    # Then nothing is missing
    assert problems == []


@pytest.mark.parametrize("name", by_mutation(MUTATIONS))
def test_check_fails_when_the_protection_is_removed(stack: Template, name: str) -> None:
    # Given the template with one protection taken out
    checker, remove = MUTATIONS[name]
    remove(stack)
    # When the property is checked
    problems = checker(stack)
    # Then the checker reports it
    assert problems, f"{checker.__name__} did not notice: {name}"


@pytest.mark.parametrize("checker", by_checker(checks.CONFIG_CHECKERS))
def test_deploy_config_has_the_safety_property(
    stack: Template, deploy_config: SamConfig, checker: checks.ConfigChecker
) -> None:
    # Given the template and samconfig.toml as committed
    # When the property is checked
    problems = checker(stack, deploy_config)
    # Then nothing is missing
    assert problems == []


@pytest.mark.parametrize("name", by_mutation(CONFIG_MUTATIONS))
def test_config_check_fails_when_the_protection_is_removed(
    stack: Template, deploy_config: SamConfig, name: str
) -> None:
    # Given the template or the deploy configuration with one protection taken out
    checker, remove = CONFIG_MUTATIONS[name]
    remove(stack, deploy_config)
    # When the property is checked
    problems = checker(stack, deploy_config)
    # Then the checker reports it
    assert problems, f"{checker.__name__} did not notice: {name}"


def test_every_checker_has_a_mutation() -> None:
    # Given the checkers and the mutations that remove what they protect
    covered = {checker for checker, _ in [*MUTATIONS.values(), *CONFIG_MUTATIONS.values()]}
    # Then no checker goes without a test that it can fail
    everything: list[Callable[..., list[str]]] = [*checks.CHECKERS, *checks.CONFIG_CHECKERS]
    assert [c.__name__ for c in everything if c not in covered] == []


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
