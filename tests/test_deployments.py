"""One catalog, two outputs: deployments/prefect.yaml and ``socialops serve`` cannot drift."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from deployments import prefect_yaml
from deployments.catalog import CATALOG, ORG_TIMEZONE, Entry
from deployments.serve import deployments, load_flow, to_deployment


def test_prefect_yaml_is_generated_from_the_catalog() -> None:
    assert prefect_yaml.PATH.read_text() == prefect_yaml.render(), (
        "deployments/prefect.yaml differs from deployments/catalog.py: run `make deployments`"
    )


def test_every_entry_names_a_flow_of_that_name() -> None:
    for item in CATALOG:
        flow = load_flow(item)
        assert flow.name == item.flow_name, item.entrypoint
        assert flow.description, f"{item.full_name}: the flow needs a one-line docstring"
    assert len({item.full_name for item in CATALOG}) == len(CATALOG)


def test_serve_and_prefect_yaml_agree_on_every_deployment() -> None:
    spec = yaml.safe_load(prefect_yaml.PATH.read_text())["deployments"]
    served = deployments()
    assert len(spec) == len(served) == len(CATALOG)
    for written, runner, item in zip(spec, served, CATALOG, strict=True):
        assert (runner.flow_name, runner.name) == (item.flow_name, written["name"])
        assert written["entrypoint"] == item.entrypoint
        assert written["work_pool"]["name"] == "socialops"
        assert runner.parameters == written.get("parameters", {})
        limit = written["concurrency_limit"]
        # One at a time, but for the review runs: each waits for a person, many may be open.
        assert runner.concurrency_limit == limit["limit"] == item.concurrency
        assert item.concurrency == 1 or item.full_name == "review-draft/review"
        assert runner.concurrency_options.collision_strategy.value == limit["collision_strategy"]
        if "schedules" in written and "cron" in written["schedules"][0]:
            cron = runner.schedules[0].schedule
            assert (cron.cron, cron.timezone) == (
                written["schedules"][0]["cron"],
                written["schedules"][0]["timezone"],
            )
            assert limit["collision_strategy"] == "CANCEL_NEW"
        elif "schedules" in written:
            every = runner.schedules[0].schedule.interval
            assert every == timedelta(seconds=written["schedules"][0]["interval"])
            assert limit["collision_strategy"] == "CANCEL_NEW"  # an overlapping run is skipped
        else:
            assert not runner.schedules
            assert limit["collision_strategy"] == "ENQUEUE"  # asked for: queued, never lost


def test_every_stage_is_deployed() -> None:
    names = {item.full_name for item in CATALOG}
    assert {
        "ingest-mentions/scheduled",
        "route-mentions/scheduled",
        "escalate-overdue/scheduled",
        "classify-mentions/reclassify",
        "backfill-mentions/backfill",
        "watch-pipeline/scheduled",
        "draft-replies/scheduled",
        "publish-replies/scheduled",
        "review-draft/review",
        "weekly-report/scheduled",
    } <= names


def test_a_cron_entry_in_the_organisations_time_zone() -> None:
    weekly = Entry(
        "flows/ingest_mentions.py:ingest_mentions",
        "weekly",
        "A cron example.",
        cron="0 8 * * 1",
        timezone=ORG_TIMEZONE,
    )
    runner = to_deployment(weekly)
    assert runner.schedules[0].schedule.cron == "0 8 * * 1"
    assert runner.schedules[0].schedule.timezone == "Europe/London"
    assert runner.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    written = prefect_yaml._deployment(weekly, pool="p", org_timezone="Europe/London")
    assert written["schedules"] == [{"cron": "0 8 * * 1", "timezone": "Europe/London"}]
    assert written["work_pool"]["name"] == "p"


def test_the_work_pool_is_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCIALOPS_WORK_POOL", "night-shift")
    spec = yaml.safe_load(prefect_yaml.render())
    assert {d["work_pool"]["name"] for d in spec["deployments"]} == {"night-shift"}
    assert "prefect worker start --pool night-shift" in prefect_yaml.render()


def test_an_entry_refuses_both_an_interval_and_a_cron() -> None:
    with pytest.raises(ValueError, match="not both"):
        Entry("flows/x.py:x", "y", "z", interval=timedelta(minutes=1), cron="* * * * *")


def test_the_kubernetes_base_job_template_and_worker_manifest_are_consistent() -> None:
    import json
    import re

    folder = prefect_yaml.PATH.parent / "kubernetes"
    template = json.loads((folder / "base-job-template.json").read_text())
    used = set(re.findall(r"\{\{ (\w+) \}\}", json.dumps(template["job_configuration"])))
    assert used <= set(template["variables"]["properties"]), used
    manifests = list(yaml.safe_load_all((folder / "worker.yaml").read_text()))
    worker = next(m for m in manifests if m["kind"] == "Deployment")
    args = worker["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[:4] == ["prefect", "worker", "start", "--pool"] and "kubernetes" in args
