"""The archiver's metrics are the ones template.yaml's alarms watch: renaming one breaks this.

`publish` runs on Powertools `Metrics` configured as the deployed function is (its
POWERTOOLS_* variables from the template), the EMF record it flushes to stdout is
read back, and every metric and dimension an alarm on the archiver's namespace reads
must be in it.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from feed_archiver.clock import rfc3339, utcnow
from feed_archiver.feed_state import Status
from feed_archiver.metrics import NEVER_SUCCEEDED_SECONDS, publish
from feed_archiver.run import FeedSummary, RunSummary
from tests.cfn_template import (
    FUNCTION,
    Template,
    alarm_metrics,
    alarms,
    find_in_map,
    function_properties,
    resources_of_type,
)


def _function_services(template: Template) -> dict[str, str]:
    """Each function's POWERTOOLS_SERVICE_NAME (its own, else the Globals one) -> its logical id."""
    defaults = template.get("Globals", {}).get("Function", {}).get("Environment", {})
    services = {}
    for name, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        own = resource["Properties"].get("Environment", {})
        variables = {**defaults.get("Variables", {}), **own.get("Variables", {})}
        services[str(find_in_map(template, variables["POWERTOOLS_SERVICE_NAME"]))] = name
    return services


def _alarmed_metrics(template: Template) -> list[tuple[str, str, str, dict[str, str]]]:
    """(alarm, namespace, metric, dimensions) of every alarm on a namespace of our own."""
    found = []
    for alarm, props in alarms(template).items():
        for metric in alarm_metrics(props):
            namespace = find_in_map(template, metric["Namespace"])
            if not isinstance(namespace, str) or namespace.startswith("AWS/"):
                continue  # a metric AWS publishes (Lambda errors, queue depth)
            dimensions = {
                d["Name"]: str(find_in_map(template, d["Value"]))
                for d in metric.get("Dimensions", [])
            }
            found.append((alarm, namespace, metric["MetricName"], dimensions))
    return found


def _emitted(template: Template, monkeypatch: pytest.MonkeyPatch, summary: RunSummary) -> Any:
    """The EMF record `publish` gives, from Metrics built as the deployed handler builds it."""
    variables = function_properties(template)["Environment"]["Variables"]
    for name in ("POWERTOOLS_SERVICE_NAME", "POWERTOOLS_METRICS_NAMESPACE"):
        monkeypatch.setenv(name, str(find_in_map(template, variables[name])))
    metrics = Metrics()  # as feed_archiver.handler does: everything from the environment
    metrics.clear_metrics()
    publish(metrics, summary)
    return metrics


def _flushed(metrics: Metrics, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    metrics.flush_metrics()
    (line,) = capsys.readouterr().out.splitlines()
    record: dict[str, Any] = json.loads(line)
    return record


def _summary() -> RunSummary:
    ok = FeedSummary(
        "https://example.org/ok", Status.OK, last_success=rfc3339(utcnow() - timedelta(hours=2))
    )
    failed = FeedSummary("https://example.org/down", Status.FAILED, error="HTTP 500")
    return RunSummary([ok, failed])


def test_every_metric_and_dimension_the_alarms_watch_is_emitted(
    template: Template, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the alarms on our own namespace, and the services the template's functions report as
    watched = _alarmed_metrics(template)
    services = _function_services(template)
    archiver = [w for w in watched if services.get(w[3].get("service", "")) == FUNCTION]
    assert archiver, "no alarm watches a metric of the archiver function"
    for alarm, _, _, dimensions in watched:
        assert dimensions.get("service") in services, f"{alarm}: no function reports as it"
    # When a run's summary is published as the deployed handler publishes it
    record = _flushed(_emitted(template, monkeypatch, _summary()), capsys)
    # Then each watched metric is in the record, in the alarm's namespace, with its dimensions
    (directive,) = record["_aws"]["CloudWatchMetrics"]
    emitted = {m["Name"] for m in directive["Metrics"]}
    dimension_names = {name for group in directive["Dimensions"] for name in group}
    for alarm, namespace, metric, dimensions in archiver:
        assert directive["Namespace"] == namespace, alarm
        assert metric in emitted, f"{alarm} watches {metric}, which the archiver does not emit"
        for name, value in dimensions.items():
            assert name in dimension_names, f"{alarm}: dimension {name} is not emitted"
            assert record[name] == value, f"{alarm}: {name} is {record[name]!r}, not {value!r}"


def test_the_values_the_alarms_compare_are_the_run_s(
    template: Template, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a run where one feed succeeded two hours ago and one failed, never having succeeded
    record = _flushed(_emitted(template, monkeypatch, _summary()), capsys)
    # Then one failure is counted, and the stalest feed is the one that never succeeded
    assert record["FeedFailures"] == [1.0]
    assert record["SecondsSinceLastSuccess"] == [float(NEVER_SUCCEEDED_SECONDS)]
