"""The safety properties of template.yaml, each a checker returning the problems it finds."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.cfn_template import (
    BUCKET,
    FUNCTION,
    TABLE,
    SamConfig,
    Template,
    alarm_metrics,
    alarms,
    arn_text,
    as_list,
    condition_switch,
    deploy_parameters,
    find_in_map,
    function_properties,
    locked_version,
    parameter_default,
    referenced_id,
    resources_of_type,
    statements,
    sub_text,
)

Checker = Callable[[Template], list[str]]
# Checks of the template together with the deploy configuration (samconfig.toml).
ConfigChecker = Callable[[Template, SamConfig], list[str]]

# Everything the archiver does (see the role in template.yaml); anything else is a widening.
FUNCTION_ACTIONS = frozenset(
    {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "sqs:SendMessage",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)
# Actions IAM cannot scope to a resource: the only ones allowed on "*".
NO_RESOURCE_LEVEL_ACTIONS = frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"})
# items/ and raw/: the archive; exports/ and feed/: what a run publishes from it; captures/:
# read only, for the captured articles' text in the exports (feed_archiver.publish).
ARCHIVE_PREFIXES = ("items/", "raw/", "exports/", "feed/", "captures/")
READ_ONLY_VERBS = ("Get", "List", "BatchGet", "Query", "Describe", "Scan")
# Every request the dashboard sends (dashboard/data.py through the store), as (action, ARN):
# tests/integration/test_dashboard_policy.py checks this against the requests it really sends.
DASHBOARD_GRANTS = frozenset(
    {
        ("dynamodb:Query", f"${{{TABLE}.Arn}}"),
        ("dynamodb:Query", f"${{{TABLE}.Arn}}/index/by-month"),
        # An item's captured text, and its WARC when downloaded (issue 12).
        ("s3:GetObject", f"${{{BUCKET}.Arn}}/captures/*"),
    }
)
PRODUCTION = "prod"  # the samconfig.toml environment `sam deploy --config-env prod` reads


def encryption_algorithms(bucket: dict[str, Any]) -> set[Any]:
    rules = (
        bucket["Properties"]
        .get("BucketEncryption", {})
        .get("ServerSideEncryptionConfiguration", [])
    )
    return {r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") for r in rules}


def public_access_gaps(bucket: dict[str, Any]) -> list[str]:
    block = bucket["Properties"].get("PublicAccessBlockConfiguration", {})
    flags = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    return [f"public access block {f} is not true" for f in flags if block.get(f) is not True]


def check_bucket_encrypted(t: Template) -> list[str]:
    algorithms = encryption_algorithms(t["Resources"][BUCKET])
    return (
        []
        if algorithms & {"AES256", "aws:kms", "aws:kms:dsse"}
        else ["bucket has no default encryption"]
    )


def check_bucket_versioned(t: Template) -> list[str]:
    status = t["Resources"][BUCKET]["Properties"].get("VersioningConfiguration", {}).get("Status")
    return [] if status == "Enabled" else ["bucket versioning is not enabled"]


def check_public_access_blocked(t: Template) -> list[str]:
    return public_access_gaps(t["Resources"][BUCKET])


def check_tls_only(t: Template) -> list[str]:
    for policy in resources_of_type(t, "AWS::S3::BucketPolicy").values():
        props = policy["Properties"]
        if referenced_id(props["Bucket"]) != BUCKET:
            continue
        for s in statements(props["PolicyDocument"]):
            insecure = s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
            covered = {referenced_id(r) for r in as_list(s.get("Resource"))} == {BUCKET}
            object_arns = any(sub_text(r).endswith("/*") for r in as_list(s.get("Resource")))
            if (
                s.get("Effect") == "Deny"
                and s.get("Principal") in ("*", {"AWS": "*"})
                and set(as_list(s.get("Action"))) & {"s3:*", "*"}
                and str(insecure).lower() == "false"
                and covered
                and object_arns
            ):
                return []
    return ["no bucket policy denies non-TLS requests to the bucket and its objects"]


def check_retained(t: Template) -> list[str]:
    return [
        f"{name} {policy} is not Retain"
        for name in (BUCKET, TABLE)
        for policy in ("DeletionPolicy", "UpdateReplacePolicy")
        if t["Resources"][name].get(policy) != "Retain"
    ]


def check_table_recoverable_and_encrypted(t: Template) -> list[str]:
    props = t["Resources"][TABLE]["Properties"]
    problems = []
    if (
        props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        is not True
    ):
        problems.append("table has no point-in-time recovery")
    if props.get("SSESpecification", {}).get("SSEEnabled") is not True:
        problems.append("table encryption is not set")
    if props.get("BillingMode") != "PAY_PER_REQUEST":
        problems.append("table is not on-demand")
    return problems


def check_table_key_design(t: Template) -> list[str]:
    props = t["Resources"][TABLE]["Properties"]
    keys = [(k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]]
    attributes = {a["AttributeName"]: a["AttributeType"] for a in props["AttributeDefinitions"]}
    indexes = {
        i["IndexName"]: (
            [(k["AttributeName"], k["KeyType"]) for k in i["KeySchema"]],
            i["Projection"],
        )
        for i in props.get("GlobalSecondaryIndexes", [])
    }
    problems = []
    if keys != [("pk", "HASH"), ("sk", "RANGE")]:
        problems.append(f"table keys are {keys}")
    if attributes != {"pk": "S", "sk": "S", "gsi1pk": "S", "gsi1sk": "S"}:
        problems.append(f"attribute definitions are {attributes}")
    if indexes != {
        "by-month": ([("gsi1pk", "HASH"), ("gsi1sk", "RANGE")], {"ProjectionType": "ALL"})
    }:
        problems.append(f"indexes are {indexes}")
    return problems


def function_role(t: Template) -> dict[str, Any]:
    role_id = referenced_id(function_properties(t).get("Role"))
    role = t["Resources"].get(role_id or "", {})
    return role if role.get("Type") == "AWS::IAM::Role" else {}


def check_function_uses_own_role(t: Template) -> list[str]:
    props = function_properties(t)
    problems = []
    if not function_role(t):
        problems.append("the function does not use a role written out in the template")
    if "Policies" in props:
        problems.append("function Policies make SAM generate a broader role")
    if function_role(t).get("Properties", {}).get("ManagedPolicyArns"):
        problems.append("the function role attaches managed policies (they use wildcards)")
    return problems


def role_statements(t: Template) -> list[dict[str, Any]]:
    policies = function_role(t).get("Properties", {}).get("Policies", [])
    return [s for p in policies for s in statements(p["PolicyDocument"])]


def check_function_role_least_privilege(t: Template) -> list[str]:
    problems = []
    for s in role_statements(t):
        actions = as_list(s.get("Action", []))
        targets = as_list(s.get("Resource", []))
        if "NotAction" in s or "NotResource" in s:
            problems.append(f"{s.get('Sid')}: NotAction/NotResource grants everything else")
        problems += [f"wildcard action {a}" for a in actions if "*" in a]
        problems += [
            f"action {a} is not one the archiver needs"
            for a in actions
            if a not in FUNCTION_ACTIONS
        ]
        if "*" in targets and not set(actions) <= NO_RESOURCE_LEVEL_ACTIONS:
            problems.append(f"{s.get('Sid')}: resource * where a narrower one exists")
        problems += _scope_problems(s.get("Sid"), actions, targets)
    return problems


def _scope_problems(sid: Any, actions: list[str], targets: list[Any]) -> list[str]:
    """S3 objects only under items/ and raw/ of the archive bucket; DynamoDB only its table."""
    problems = []
    for target in targets:
        owner = referenced_id(target)
        if any(a in ("s3:GetObject", "s3:PutObject") for a in actions):
            prefix = sub_text(target).removeprefix(f"${{{BUCKET}.Arn}}/")
            if owner != BUCKET or not any(prefix == f"{p}*" for p in ARCHIVE_PREFIXES):
                problems.append(f"{sid}: object access outside items/ and raw/: {target}")
        if any(a.startswith("dynamodb:") for a in actions) and owner != TABLE:
            problems.append(f"{sid}: DynamoDB access outside the archive table: {target}")
        if "s3:ListBucket" in actions and owner != BUCKET:
            problems.append(f"{sid}: listing outside the archive bucket: {target}")
    return problems


def check_reserved_concurrency(t: Template) -> list[str]:
    value = function_properties(t).get("ReservedConcurrentExecutions")
    return [] if value == 1 else [f"reserved concurrency is {value}, not 1"]


def schedule_event(t: Template) -> dict[str, Any]:
    for event in function_properties(t).get("Events", {}).values():
        if event.get("Type") == "ScheduleV2":
            return dict(event["Properties"])
    return {}


def is_queue(t: Template, value: Any) -> bool:
    target = t["Resources"].get(referenced_id(value) or "", {})
    return target.get("Type") == "AWS::SQS::Queue"


def check_schedule(t: Template) -> list[str]:
    event = schedule_event(t)
    if not event:
        return ["no ScheduleV2 (EventBridge Scheduler) event"]
    problems = []
    if event.get("RetryPolicy", {}).get("MaximumRetryAttempts", 0) < 1:
        problems.append("schedule has no retry policy")
    if not is_queue(t, event.get("DeadLetterConfig", {}).get("Arn")):
        problems.append("schedule has no dead-letter queue")
    if parameter_default(t, event.get("ScheduleExpression")) != "rate(1 hour)":
        problems.append("schedule is not a parameter defaulting to hourly")
    if parameter_default(t, event.get("ScheduleExpressionTimezone")) is None:
        problems.append("time zone is not a parameter")
    return problems


def schedule_role(t: Template) -> dict[str, Any]:
    role = t["Resources"].get(referenced_id(schedule_event(t).get("RoleArn")) or "", {})
    return role if role.get("Type") == "AWS::IAM::Role" else {}


def _names_group(arn: Any, group: str) -> bool:
    """True for the group's own ARN, or a schedule ARN pattern inside that group only."""
    text = arn_text(arn)
    return text == f"${{{group}.Arn}}" or f":schedule/${{{group}}}/" in text


def check_scheduler_trusts_only_its_schedules(t: Template) -> list[str]:
    """The confused deputy: only this account's schedules in this stack's group may assume it."""
    role = schedule_role(t)
    if not role:
        return ["the schedule uses a role SAM generates, which trusts Scheduler unconditionally"]
    group = referenced_id(schedule_event(t).get("GroupName")) or ""
    if t["Resources"].get(group, {}).get("Type") != "AWS::Scheduler::ScheduleGroup":
        return ["the schedule is not in a schedule group of this stack"]
    problems = []
    for s in statements(role["Properties"]["AssumeRolePolicyDocument"]):
        condition = s.get("Condition", {})
        account = condition.get("StringEquals", {}).get("aws:SourceAccount")
        sources = [
            arn
            for operator in ("ArnEquals", "ArnLike", "StringEquals", "StringLike")
            for arn in as_list(condition.get(operator, {}).get("aws:SourceArn", []))
        ]
        if s.get("Principal") != {"Service": "scheduler.amazonaws.com"}:
            problems.append(f"the schedule role trusts {s.get('Principal')}")
        if account != {"Ref": "AWS::AccountId"}:
            problems.append("the schedule role's trust has no aws:SourceAccount of this account")
        if not sources or not all(_names_group(arn, group) for arn in sources):
            problems.append(f"the schedule role's trust has no aws:SourceArn limited to {group}")
    return problems


def check_scheduler_role_least_privilege(t: Template) -> list[str]:
    queue = referenced_id(schedule_event(t).get("DeadLetterConfig", {}).get("Arn"))
    allowed = {("lambda:InvokeFunction", FUNCTION), ("sqs:SendMessage", queue)}
    granted = {
        (action, referenced_id(target))
        for policy in schedule_role(t).get("Properties", {}).get("Policies", [])
        for s in statements(policy["PolicyDocument"])
        for action in as_list(s.get("Action", []))
        for target in as_list(s.get("Resource", []))
    }
    return [f"the schedule role may {a} on {r}" for a, r in sorted(granted - allowed, key=str)]


def check_async_failures_reported(t: Template) -> list[str]:
    on_failure = function_properties(t).get("EventInvokeConfig", {}).get("DestinationConfig", {})
    destination = on_failure.get("OnFailure", {}).get("Destination")
    return [] if is_queue(t, destination) else ["failed asynchronous runs go nowhere"]


def alarm_on(t: Template, metric: str, dimension_target: str | None = None) -> dict[str, Any]:
    """The alarm reading `metric` (on `dimension_target`, a logical id, if given), notifying SNS."""
    for props in alarms(t).values():
        notifies = any(
            t["Resources"].get(referenced_id(a) or "", {}).get("Type") == "AWS::SNS::Topic"
            for a in props.get("AlarmActions", [])
        )
        for m in alarm_metrics(props):
            targets = {referenced_id(d["Value"]) for d in m.get("Dimensions", [])}
            if (
                m["MetricName"] == metric
                and notifies
                and (dimension_target is None or dimension_target in targets)
            ):
                return props
    return {}


def check_alarms(t: Template) -> list[str]:
    queue = referenced_id(schedule_event(t).get("DeadLetterConfig", {}).get("Arn"))
    wanted = {
        "function errors": alarm_on(t, "Errors", FUNCTION),
        "dead-letter queue not empty": alarm_on(t, "ApproximateNumberOfMessagesVisible", queue),
        "feed failures": alarm_on(t, "FeedFailures"),
        "staleness": alarm_on(t, "SecondsSinceLastSuccess"),
    }
    problems = [f"no alarm to SNS for {what}" for what, props in wanted.items() if not props]
    if wanted["staleness"] and wanted["staleness"].get("TreatMissingData") != "breaching":
        problems.append("staleness alarm does not treat missing data as breaching")
    return problems


def check_alarm_email_optional(t: Template) -> list[str]:
    subscriptions = resources_of_type(t, "AWS::SNS::Subscription").values()
    ok = any(
        s.get("Condition")
        and s["Properties"].get("Protocol") == "email"
        and parameter_default(t, s["Properties"].get("Endpoint")) == ""
        for s in subscriptions
    )
    return [] if ok else ["no optional e-mail subscription driven by a parameter"]


def check_metric_names_match_function(t: Template) -> list[str]:
    env = function_properties(t)["Environment"]["Variables"]
    namespace = find_in_map(t, env.get("POWERTOOLS_METRICS_NAMESPACE"))
    service = find_in_map(t, env.get("POWERTOOLS_SERVICE_NAME"))
    problems = []
    for metric in ("FeedFailures", "SecondsSinceLastSuccess"):
        for m in alarm_metrics(alarm_on(t, metric)):
            dims = {d["Name"]: find_in_map(t, d["Value"]) for d in m.get("Dimensions", [])}
            if find_in_map(t, m.get("Namespace")) != namespace or dims != {"service": service}:
                problems.append(
                    f"{metric} alarm reads another namespace/service than the function emits"
                )
    return problems


def dashboard_policy(t: Template) -> dict[str, Any]:
    # The dashboard's outputs only: the analysts' policy (AnalyticsQueryPolicyArn) is another.
    outputs = [
        referenced_id(o["Value"]) for k, o in t.get("Outputs", {}).items() if "Dashboard" in k
    ]
    policies = resources_of_type(t, "AWS::IAM::ManagedPolicy")
    exported = [policies[name] for name in outputs if name in policies]
    return exported[0]["Properties"]["PolicyDocument"] if exported else {}


def check_dashboard_policy_read_only(t: Template) -> list[str]:
    document = dashboard_policy(t)
    if not document:
        return ["no managed policy for the dashboard among the outputs"]
    problems = []
    for s in statements(document):
        for action in as_list(s.get("Action", [])):
            verb = action.split(":", 1)[-1]
            if "*" in action or not verb.startswith(READ_ONLY_VERBS):
                problems.append(f"dashboard policy allows {action}")
        for target in as_list(s.get("Resource", [])):
            if referenced_id(target) not in (BUCKET, TABLE):
                problems.append(f"dashboard policy reaches beyond the archive: {target}")
    return problems


def check_dashboard_policy_exact(t: Template) -> list[str]:
    granted = {
        (action, arn_text(target))
        for s in statements(dashboard_policy(t))
        if s.get("Effect") == "Allow"
        for action in as_list(s.get("Action", []))
        for target in as_list(s.get("Resource", []))
    }
    return [
        f"dashboard policy grants {a} on {r}, which the dashboard never sends"
        for a, r in sorted(granted - DASHBOARD_GRANTS)
    ] + [
        f"dashboard policy lacks {a} on {r}, which the dashboard sends"
        for a, r in sorted(DASHBOARD_GRANTS - granted)
    ]


def check_outputs(t: Template) -> list[str]:
    exported = {referenced_id(o["Value"]) for o in t.get("Outputs", {}).values()}
    wanted = {BUCKET, TABLE, FUNCTION, "AlarmTopic"}
    missing = sorted(wanted - exported)
    if not dashboard_policy(t):
        missing.append("dashboard policy")
    return [f"no output for {m}" for m in missing]


def powertools_layer_paths(t: Template) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and "/aws/service/powertools/python/" in value:
            found.append(value)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(function_properties(t).get("Layers", []))
    return found


def check_powertools_layer_pinned(t: Template) -> list[str]:
    props = function_properties(t)
    expected = (
        f"{{{{resolve:ssm:/aws/service/powertools/python/{props['Architectures'][0]}/"
        f"{props['Runtime']}/{locked_version('aws-lambda-powertools')}}}}}"
    )
    paths = powertools_layer_paths(t)
    return [] if paths == [expected] else [f"Powertools layer is {paths}, expected {expected}"]


def check_runtime(t: Template) -> list[str]:
    props = function_properties(t)
    problems = []
    match = re.fullmatch(r"python3\.(\d+)", str(props.get("Runtime")))
    if not match or int(match.group(1)) < 12:
        problems.append(f"runtime {props.get('Runtime')} is not python3.12 or newer")
    if props.get("Tracing") != "Active":
        problems.append("tracing is not active")
    if props.get("Architectures") != ["arm64"]:
        problems.append("architecture is not arm64")
    return problems


def check_queue_encrypted(t: Template) -> list[str]:
    return [
        f"queue {name} is not encrypted"
        for name, q in resources_of_type(t, "AWS::SQS::Queue").items()
        if not (
            q["Properties"].get("SqsManagedSseEnabled") or q["Properties"].get("KmsMasterKeyId")
        )
    ]


def check_lifecycle(t: Template) -> list[str]:
    rules = t["Resources"][BUCKET]["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    raw = [
        r
        for r in rules
        if r.get("Prefix") == "raw/" and parameter_default(t, r.get("ExpirationInDays"))
    ]
    noncurrent = [
        r
        for r in rules
        if parameter_default(t, r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays"))
    ]
    archive_expiring = [r for r in rules if "ExpirationInDays" in r and r.get("Prefix") != "raw/"]
    problems = []
    if not raw:
        problems.append("raw/ snapshots never expire (or not after a parameter's days)")
    if not noncurrent:
        problems.append("noncurrent versions never expire (or not after a parameter's days)")
    if archive_expiring:
        problems.append("a lifecycle rule expires current objects outside raw/")
    return problems


def check_access_logging_option(t: Template) -> list[str]:
    """S3 server access logs of the archive bucket: a parameter, off by default, done properly."""
    logging = t["Resources"][BUCKET]["Properties"].get("LoggingConfiguration")
    if not (isinstance(logging, dict) and "Fn::If" in logging):
        return ["the archive bucket's access logging is not an option (Fn::If)"]
    condition, on, off = logging["Fn::If"]
    switch = condition_switch(t, condition)
    log_bucket_id = referenced_id(on.get("DestinationBucketName"))
    log_bucket = t["Resources"].get(log_bucket_id or "", {})
    problems = []
    if switch is None or parameter_default(t, {"Ref": switch[0]}) == switch[1]:
        problems.append("access logging is not a parameter that is off by default")
    if off != {"Ref": "AWS::NoValue"}:
        problems.append("the archive bucket logs somewhere when the option is off")
    if log_bucket.get("Type") != "AWS::S3::Bucket" or log_bucket.get("Condition") != condition:
        return [*problems, "no log bucket created with the option (and only with it)"]
    # SSE-S3 is the only default encryption S3 delivers server access logs into.
    if encryption_algorithms(log_bucket) != {"AES256"}:
        problems.append("the log bucket is not encrypted with SSE-S3")
    problems += [f"log bucket: {p}" for p in public_access_gaps(log_bucket)]
    ownership = log_bucket["Properties"].get("OwnershipControls", {}).get("Rules", [])
    if [r.get("ObjectOwnership") for r in ownership] != ["BucketOwnerEnforced"]:
        problems.append("the log bucket still uses ACLs (not BucketOwnerEnforced)")
    rules = log_bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
    if not any(r.get("ExpirationInDays") and r.get("Status") == "Enabled" for r in rules):
        problems.append("access logs never expire")
    if not _log_delivery_allowed(t, log_bucket_id or "", condition):
        problems.append(
            "no bucket policy lets S3 log delivery write the archive bucket's logs, "
            "and only those (aws:SourceArn, aws:SourceAccount)"
        )
    return problems


def _log_delivery_allowed(t: Template, log_bucket: str, condition: str) -> bool:
    for policy in resources_of_type(t, "AWS::S3::BucketPolicy").values():
        props = policy["Properties"]
        if referenced_id(props["Bucket"]) != log_bucket or policy.get("Condition") != condition:
            continue
        for s in statements(props["PolicyDocument"]):
            when = s.get("Condition", {})
            source = [a for c in when.values() for a in as_list(c.get("aws:SourceArn", []))]
            account = [a for c in when.values() for a in as_list(c.get("aws:SourceAccount", []))]
            if (
                s.get("Effect") == "Allow"
                and s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}
                and as_list(s.get("Action")) == ["s3:PutObject"]
                and [referenced_id(a) for a in source] == [BUCKET]
                and account == [{"Ref": "AWS::AccountId"}]
            ):
                return True
    return False


def check_production_table_protected(t: Template, config: SamConfig) -> list[str]:
    """Deletion protection on the table, driven by a parameter that the prod config sets on."""
    value = t["Resources"][TABLE]["Properties"].get("DeletionProtectionEnabled")
    if not (isinstance(value, dict) and value.get("Fn::If", [None])[1:] == [True, False]):
        return ["the table's DeletionProtectionEnabled is not driven by a parameter"]
    switch = condition_switch(t, value["Fn::If"][0])
    if switch is None:
        return ["the table's deletion protection does not follow a parameter"]
    parameter, on = switch
    # Written out in the prod config: a later change of the template's default stays out of prod.
    setting = deploy_parameters(config, PRODUCTION).get(parameter)
    return [] if setting == on else [f"the prod config sets {parameter}={setting}, not {on}"]


def alarm_email_parameter(t: Template) -> str | None:
    for s in resources_of_type(t, "AWS::SNS::Subscription").values():
        if s["Properties"].get("Protocol") == "email":
            return referenced_id(s["Properties"].get("Endpoint"))
    return None


def check_production_requires_alarm_email(t: Template, config: SamConfig) -> list[str]:
    """A Rule refuses a prod deploy without an alarm address, and the prod config is prod."""
    email = alarm_email_parameter(t)
    required = {"Fn::Not": [{"Fn::Equals": [{"Ref": email}, ""]}]}
    prod = deploy_parameters(config, PRODUCTION)
    for rule in t.get("Rules", {}).values():
        if not any(a.get("Assert") == required for a in rule.get("Assertions", [])):
            continue
        if "RuleCondition" not in rule:
            return []  # required for every stack
        when = rule["RuleCondition"].get("Fn::Equals")
        if when and prod.get(referenced_id(when[0]) or "") == when[1]:
            return []
    return [f"nothing refuses a {PRODUCTION} deploy without {email}"]


# ---------------------------------------------------------------- article capture (issue 12)
CAPTURE_FUNCTION = "CaptureFunction"
# What capturing needs (see CaptureFunctionRole in template.yaml); anything else is a widening.
CAPTURE_ACTIONS = frozenset(
    {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:PutObject",
        "s3:ListBucket",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
    }
)
CAPTURE_PREFIXES = ("items/", "captures/", "exports/", "feed/")
MAX_CAPTURE_CONCURRENCY = 2  # a site sees at most this many captures at once
MIN_VISIBILITY_TIMEOUTS = 6  # AWS: a queue's visibility timeout ≥ 6 × the function's timeout
MAX_RECEIVES = 10  # a message failing more often than this should be in the DLQ already


def capture_properties(t: Template) -> dict[str, Any]:
    """The capture function's properties with SAM's Globals.Function merged under them."""
    own = t["Resources"].get(CAPTURE_FUNCTION, {}).get("Properties", {})
    return {**t.get("Globals", {}).get("Function", {}), **own}


def capture_event(t: Template) -> dict[str, Any]:
    for event in capture_properties(t).get("Events", {}).values():
        if event.get("Type") == "SQS":
            return dict(event.get("Properties", {}))
    return {}


def capture_queue(t: Template) -> tuple[str, dict[str, Any]]:
    """(logical id, properties) of the queue the capture function reads."""
    name = referenced_id(capture_event(t).get("Queue")) or ""
    queue = t["Resources"].get(name, {})
    if queue.get("Type") != "AWS::SQS::Queue":
        return "", {}
    return name, dict(queue.get("Properties", {}))


def capture_dead_letter_queue(t: Template) -> str:
    policy = capture_queue(t)[1].get("RedrivePolicy", {})
    target = policy.get("deadLetterTargetArn") if isinstance(policy, dict) else None
    return referenced_id(target) or "" if is_queue(t, target) else ""


def check_capture_queue_has_dead_letter_queue(t: Template) -> list[str]:
    """Failed captures are retried a bounded number of times, then set aside, never dropped."""
    name, queue = capture_queue(t)
    if not name:
        return ["the capture function reads no SQS queue of this template"]
    problems = []
    policy = queue.get("RedrivePolicy", {})
    receives = policy.get("maxReceiveCount") if isinstance(policy, dict) else None
    if not capture_dead_letter_queue(t):
        problems.append(f"{name} has no dead-letter queue (RedrivePolicy)")
    if not isinstance(receives, int) or not 1 < receives <= MAX_RECEIVES:
        problems.append(f"{name} redrives after {receives} receives, not 2 to {MAX_RECEIVES}")
    timeout = capture_properties(t).get("Timeout")
    visibility = queue.get("VisibilityTimeout", 30)
    if not isinstance(timeout, int) or visibility < MIN_VISIBILITY_TIMEOUTS * timeout:
        problems.append(
            f"{name}'s visibility timeout {visibility} s is under {MIN_VISIBILITY_TIMEOUTS} × "
            f"the function's timeout ({timeout} s): a message could be handed out twice at once"
        )
    if "ReportBatchItemFailures" not in capture_event(t).get("FunctionResponseTypes", []):
        problems.append(
            "one failed capture sends its whole batch back (no ReportBatchItemFailures)"
        )
    return problems


def check_capture_dead_letter_alarm(t: Template) -> list[str]:
    """A message in the capture DLQ (a capture that failed for good) raises an alarm at once."""
    queue = capture_dead_letter_queue(t)
    props = alarm_on(t, "ApproximateNumberOfMessagesVisible", queue) if queue else {}
    if not props:
        return ["no alarm to SNS on the capture dead-letter queue's depth"]
    fires_on_one = (
        props.get("ComparisonOperator") == "GreaterThanThreshold" and props.get("Threshold") == 0
    ) or (
        props.get("ComparisonOperator") == "GreaterThanOrEqualToThreshold"
        and props.get("Threshold") == 1
    )
    return [] if fires_on_one else ["the capture DLQ alarm does not fire on one message"]


def check_capture_concurrency_bounded(t: Template) -> list[str]:
    """At most MAX_CAPTURE_CONCURRENCY captures at once: the event source and the function agree."""
    scaling = capture_event(t).get("ScalingConfig", {}).get("MaximumConcurrency")
    reserved = capture_properties(t).get("ReservedConcurrentExecutions")
    problems = []
    if not isinstance(scaling, int) or scaling > MAX_CAPTURE_CONCURRENCY:
        problems.append(
            f"the capture queue's MaximumConcurrency is {scaling}, not ≤ {MAX_CAPTURE_CONCURRENCY}"
        )
    # Fewer reserved than polled-for would throttle batches back to the queue, spending receives.
    if (
        not isinstance(reserved, int)
        or not isinstance(scaling, int)
        or not scaling <= reserved <= MAX_CAPTURE_CONCURRENCY
    ):
        problems.append(f"the capture function's reserved concurrency is {reserved}, not {scaling}")
    return problems


def check_capture_role_least_privilege(t: Template) -> list[str]:
    """Its own role: objects only under items/ and captures/, the table, its queue; no wildcard."""
    props = capture_properties(t)
    role = t["Resources"].get(referenced_id(props.get("Role")) or "", {})
    if role.get("Type") != "AWS::IAM::Role" or "Policies" in props:
        return ["the capture function does not use a role written out in the template"]
    queue = capture_queue(t)[0]
    problems = []
    for policy in role.get("Properties", {}).get("Policies", []):
        for s in statements(policy["PolicyDocument"]):
            actions = as_list(s.get("Action", []))
            targets = as_list(s.get("Resource", []))
            problems += [f"capture role: action {a}" for a in actions if a not in CAPTURE_ACTIONS]
            if "*" in targets and not set(actions) <= NO_RESOURCE_LEVEL_ACTIONS:
                problems.append(f"capture role {s.get('Sid')}: resource *")
            for target in targets:
                owner = referenced_id(target)
                if any(a in ("s3:GetObject", "s3:PutObject") for a in actions):
                    prefix = sub_text(target).removeprefix(f"${{{BUCKET}.Arn}}/")
                    if owner != BUCKET or not any(prefix == f"{p}*" for p in CAPTURE_PREFIXES):
                        problems.append(
                            f"capture role: objects outside items/ and captures/: {target}"
                        )
                if any(a.startswith("dynamodb:") for a in actions) and owner != TABLE:
                    problems.append(f"capture role: DynamoDB outside the archive table: {target}")
                if any(a.startswith("sqs:") for a in actions) and owner != queue:
                    problems.append(f"capture role: SQS outside its own queue: {target}")
    return problems


def check_archiver_enqueues_captures(t: Template) -> list[str]:
    """The archiver knows the capture queue (CAPTURE_QUEUE_URL) and may send to it, only to it."""
    queue = capture_queue(t)[0]
    env = function_properties(t)["Environment"]["Variables"]
    problems = []
    if not queue or referenced_id(env.get("CAPTURE_QUEUE_URL")) != queue:
        problems.append("the archiver's CAPTURE_QUEUE_URL is not the capture function's queue")
    senders = [
        s for s in role_statements(t)
        if "sqs:SendMessage" in as_list(s.get("Action", []))
        and queue in [referenced_id(r) for r in as_list(s.get("Resource", []))]
    ]  # fmt: skip
    if not senders:
        problems.append("the archiver may not send to the capture queue")
    return problems


CAPTURE_CHECKERS: list[Checker] = [
    check_capture_queue_has_dead_letter_queue,
    check_capture_dead_letter_alarm,
    check_capture_concurrency_bounded,
    check_capture_role_least_privilege,
    check_archiver_enqueues_captures,
]


CHECKERS: list[Checker] = [
    check_bucket_encrypted,
    check_bucket_versioned,
    check_public_access_blocked,
    check_tls_only,
    check_retained,
    check_table_recoverable_and_encrypted,
    check_table_key_design,
    check_function_uses_own_role,
    check_function_role_least_privilege,
    check_reserved_concurrency,
    check_schedule,
    check_async_failures_reported,
    check_alarms,
    check_alarm_email_optional,
    check_metric_names_match_function,
    check_dashboard_policy_read_only,
    check_outputs,
    check_powertools_layer_pinned,
    check_runtime,
    check_queue_encrypted,
    check_lifecycle,
    check_scheduler_trusts_only_its_schedules,
    check_scheduler_role_least_privilege,
    check_dashboard_policy_exact,
    check_access_logging_option,
    *CAPTURE_CHECKERS,
]

CONFIG_CHECKERS: list[ConfigChecker] = [
    check_production_table_protected,
    check_production_requires_alarm_email,
]
