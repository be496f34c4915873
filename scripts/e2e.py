"""``make e2e``: the pipeline deployed for real, checked through the Prefect API and a browser.

A Prefect server on loopback (temporary PREFECT_HOME), the ``socialops`` process work pool,
``prefect deploy --all`` from the repository root, one worker, the sandbox as the platform, a
fresh application database. Runs ingest, route and a windowed backfill through the worker,
makes a deployment fail twice and lets the watchdog tell operations, asserts the database rows
and the artifacts through the API, then opens the UI in headless Chromium (DevTools protocol)
and saves screenshots under ``$SOCIALOPS_HOME/e2e/``. Everything it starts is stopped by PID,
also when a step fails.

With PostgreSQL (``SOCIALOPS_TEST_POSTGRES_URL``, as ``.ci/run`` provides) it runs the way
the README scales out: the Prefect server and the application on two fresh PostgreSQL databases
(dropped at the end), **two workers** on the pool, and a step that runs four stages at once
(live ingest, a forced backfill of the same window, route, reclassify) across both workers,
then checks nothing was stored, classified or assigned twice. Without it: SQLite, one worker.

Environment: ``SOCIALOPS_HOME`` (default ./.socialops), ``SOCIALOPS_TEST_POSTGRES_URL``
(optional, see above), ``SOCIALOPS_E2E_KEEP=1`` keeps the temporary folder.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from e2e_support import REPO, STARTED, Processes, free_port, name_run, run, say, wait_for

name_run("e2e")
BIN = Path(sys.executable).parent
TOKEN = "e2e-token"


# -- the Prefect API --------------------------------------------------------------------------
def trigger(name: str, parameters: dict[str, Any] | None = None) -> Any:
    from prefect.deployments import run_deployment

    flow_run = run_deployment(name, parameters=parameters or {}, timeout=0)
    say(f"triggered {name}: flow run {flow_run.id}")
    return flow_run.id


def wait_final(flow_run_id: Any, timeout: float = 300) -> Any:
    from prefect.client.orchestration import get_client

    def final() -> Any:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(flow_run_id)
        return flow_run if flow_run.state and flow_run.state.is_final() else None

    flow_run = wait_for(f"flow run {flow_run_id}", final, timeout, every=2)
    say(f"flow run {flow_run.name}: {flow_run.state.name} ({flow_run.state.message or ''})")
    return flow_run


def artifacts_of(flow_run_id: Any, *, subflows: bool = False) -> dict[str, Any]:
    """The run's artifacts by key (with its subflow runs' too when asked)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    with get_client(sync_client=True) as client:
        runs = [flow_run_id]
        if subflows:
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[flow_run_id])
                )
            )
            runs += [child.id for child in children]
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=runs))
        )
    return {a.key or a.type or str(a.id): a for a in found}


# -- the browser --------------------------------------------------------------------------------
class Browser:
    """Headless Chromium driven over the DevTools protocol (one page)."""

    FLAGS = (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--window-size=1440,1000",
        "--remote-debugging-port=0",
    )

    def __init__(self, processes: Processes, profile: Path, env: dict[str, str]) -> None:
        executable = shutil.which("chromium") or shutil.which("chromium-browser")
        if executable is None:
            say("installing Debian's chromium (apt-get)")
            run(["apt-get", "update", "-qq"], env, timeout=600)
            run(["apt-get", "install", "-y", "-qq", "chromium"], env, timeout=900)
            executable = shutil.which("chromium")
        assert executable, "chromium is not installed and could not be installed"
        processes.start(
            "chromium", [executable, *self.FLAGS, f"--user-data-dir={profile}", "about:blank"], env
        )
        port_file = profile / "DevToolsActivePort"
        port = wait_for("chromium DevTools", lambda: port_file.read_text().split()[0], 60, 0.3)
        targets = wait_for(
            "a page target",
            lambda: [
                t
                for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
                if t["type"] == "page"
            ],
            30,
            0.3,
        )
        from websockets.sync.client import connect

        self.ws = connect(targets[0]["webSocketDebuggerUrl"], max_size=None, open_timeout=30)
        self.next_id = 0
        self.call("Page.enable")

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def text(self) -> str:
        result = self.call(
            "Runtime.evaluate",
            expression="document.body ? document.body.innerText : ''",
            returnByValue=True,
        )
        return str(result.get("result", {}).get("value", ""))

    def click_text(self, label: str) -> bool:
        """Click the innermost visible element whose text is exactly ``label`` (a tab)."""
        script = f"""(() => {{
            const all = [...document.querySelectorAll('button, a, [role=tab], li, span, div')];
            const hit = all.filter(e => e.innerText && e.innerText.trim() === {json.dumps(label)}
                                        && e.offsetParent !== null).pop();
            if (!hit) return false;
            hit.click();
            return true;
        }})()"""
        result = self.call("Runtime.evaluate", expression=script, returnByValue=True)
        return bool(result.get("result", {}).get("value"))

    def show(
        self,
        url: str,
        expect: list[str],
        screenshot: Path,
        *,
        click: str | None = None,
        timeout: float = 90,
    ) -> str:
        """Open ``url`` (then click the ``click`` tab), wait until every text in ``expect`` is
        on the page, screenshot it."""
        self.call("Page.navigate", url=url)
        if click is not None:
            wait_for(f"{url}: the {click!r} tab", lambda: self.click_text(click), timeout, 0.5)
        seen = [""]

        def shown() -> str | None:
            seen[0] = self.text()
            return seen[0] if all(e in seen[0] for e in expect) else None

        try:
            try:
                text = wait_for(f"{url} showing {expect}", shown, timeout, 0.5)
            except TimeoutError as exc:
                missing = [e for e in expect if e not in seen[0]]
                page = " ".join(seen[0].split())[:600]
                raise TimeoutError(f"{exc}; missing {missing}; the page read: {page!r}") from None
        finally:
            data = self.call("Page.captureScreenshot", format="png")["data"]
            screenshot.write_bytes(base64.b64decode(data))
            say(f"screenshot {screenshot}")
        time.sleep(1.0)  # let late parts render, then the final picture
        data = self.call("Page.captureScreenshot", format="png")["data"]
        screenshot.write_bytes(base64.b64decode(data))
        return str(text)

    def close(self) -> None:
        self.ws.close()


# -- the run ------------------------------------------------------------------------------------
def main() -> int:
    home = Path(os.environ.get("SOCIALOPS_HOME", REPO / ".socialops")).resolve()
    out = home / "e2e"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="socialops-e2e-"))
    processes = Processes(out)
    api_port, sandbox_port = free_port(), free_port()
    api = f"http://127.0.0.1:{api_port}/api"
    ui = f"http://127.0.0.1:{api_port}"
    postgres = Postgres(os.environ.get("SOCIALOPS_TEST_POSTGRES_URL"))
    database_url = postgres.create("app") or f"sqlite:///{tmp / 'app.db'}"
    prefect_database = postgres.create("prefect", driver="postgresql+asyncpg")
    workers = 2 if postgres.base else 1
    env = environment(
        home=home,
        tmp=tmp,
        api=api,
        ui=ui,
        database_url=database_url,
        channels=write_channels(tmp / "channels.yaml", sandbox_port),
    )
    if prefect_database:
        env["PREFECT_API_DATABASE_CONNECTION_URL"] = prefect_database
    say(
        f"application database {database_url.split('@')[-1]}; Prefect server on "
        f"{'PostgreSQL' if prefect_database else 'SQLite'}; {workers} worker(s)"
    )
    os.environ.update(env)  # this process talks to the same API and database
    ok = False
    try:
        start_services(processes, env, api_port=api_port, sandbox_port=sandbox_port)
        deploy(env, out)
        for n in range(1, workers + 1):
            processes.start(
                f"worker-{n}",
                [
                    *(str(BIN / "prefect"), "worker", "start", "--pool", "socialops"),
                    *("--name", f"e2e-worker-{n}", "--limit", "4" if workers == 1 else "2"),
                ],
                env,
            )
        runs = run_stages(database_url)
        if workers > 1:
            concurrently(runs.window, out, workers)
        check_database(database_url, runs.failed.id, ui)
        check_artifacts(runs.ingest.id, runs.route.id, runs.backfill.id, runs.watch.id)
        check_drafts_and_report(runs.drafted.id, runs.report.id, runs.week, home, runs.in_week)
        say("database rows and artifacts: ok")
        browser = Browser(processes, tmp / "chromium", env)
        try:
            check_ui(browser, ui, out, runs)
        finally:
            browser.close()
        say("UI: deployments listed, artifacts shown")
        ok = True
    finally:
        processes.stop_all()
        postgres.drop_all()
        if ok and not os.environ.get("SOCIALOPS_E2E_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"kept {tmp} (logs in {out})")
    say(f"passed in {time.monotonic() - STARTED:.0f} s; screenshots in {out}")
    return 0


def write_channels(path: Path, sandbox_port: int) -> Path:
    """Two Mastodon channels on the sandbox's two instances."""
    path.write_text(
        "channels:\n"
        + "".join(
            f"  - {{name: {name}, platform: mastodon, token_env: E2E_MASTODON_TOKEN, "
            f"base_url: 'http://127.0.0.1:{sandbox_port}/i/{instance}', backfill_hours: 6}}\n"
            for name, instance in (("mastodon-main", "main"), ("mastodon-help", "help"))
        )
    )
    return path


def environment(
    *, home: Path, tmp: Path, api: str, ui: str, database_url: str, channels: Path
) -> dict[str, str]:
    """What the server, the workers, the CLI and this process share: one Prefect API, one
    home, one database, the channels file; no notification URL from the caller's shell."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_UI_API_URL": api,  # else the UI says "Unable to connect" (PREFECT_NOTES.md)
        "PREFECT_UI_URL": ui,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        "PREFECT_LOGGING_TO_API_BATCH_INTERVAL": "0.5",
        "SOCIALOPS_HOME": str(home),
        "SOCIALOPS_DATABASE_URL": database_url,
        "SOCIALOPS_CHANNELS": str(channels),
        "E2E_MASTODON_TOKEN": TOKEN,
    }
    env.pop("SOCIALOPS_NOTIFY_URL", None)
    return env


def start_services(
    processes: Processes, env: dict[str, str], *, api_port: int, sandbox_port: int
) -> None:
    """The platform sandbox and the Prefect server, waited for until they answer."""
    api, ui = f"http://127.0.0.1:{api_port}/api", f"http://127.0.0.1:{api_port}"
    processes.start(
        "sandbox",
        [str(BIN / "socialops"), "sandbox", "--port", str(sandbox_port), "--rate-per-hour", "90"],
        env,
    )
    processes.start(
        "prefect-server",
        [
            *(str(BIN / "prefect"), "server", "start"),
            *("--host", "127.0.0.1", "--port", str(api_port)),
        ],
        env,
    )
    wait_for("the Prefect server", lambda: urllib.request.urlopen(f"{api}/health"), 180, 1)
    ui_settings = json.load(urllib.request.urlopen(f"{ui}/ui-settings"))
    assert ui_settings["api_url"] == api, ui_settings
    wait_for(
        "the sandbox",
        lambda: urllib.request.urlopen(f"http://127.0.0.1:{sandbox_port}/_sandbox/health"),
        60,
    )
    say("server and sandbox up")


def deploy(env: dict[str, str], out: Path) -> None:
    """The work pool and every deployment of the catalog, their schedules paused."""
    from prefect.client.orchestration import get_client

    from deployments.catalog import CATALOG

    run([str(BIN / "prefect"), "work-pool", "create", "socialops", "--type", "process"], env)
    deployed = run(
        [str(BIN / "prefect"), "deploy", "--all", "--prefect-file", "deployments/prefect.yaml"],
        env,
        timeout=600,
    )
    (out / "deploy.log").write_text(deployed)

    with get_client(sync_client=True) as client:
        deployments = {f"{d.name}": d for d in client.read_deployments()}
        assert len(deployments) >= len({i.name for i in CATALOG}), deployments
        # The schedules wait: this run triggers each stage itself, so no scheduled run
        # races the ones it checks (CANCEL_NEW would cancel one of them).
        for deployment in client.read_deployments():
            client.pause_deployment(deployment.id)
    say(f"deployed {len(CATALOG)} deployments to pool socialops; schedules paused")


@dataclass
class Runs:
    """The flow runs of the stages, each waited for until final."""

    ingest: Any
    route: Any
    drafted: Any
    report: Any
    week: str
    in_week: int  # the week's stored mentions right after the report ran
    backfill: Any
    window: dict[str, Any]
    failed: Any  # the second of two failing runs of one deployment
    watch: Any


def run_stages(database_url: str) -> Runs:
    """Each stage through its deployment on the workers, one after the other."""
    ingest = wait_final(trigger("ingest-mentions/scheduled"), timeout=420)
    assert ingest.state.is_completed(), ingest.state
    route = wait_final(trigger("route-mentions/scheduled"), timeout=300)
    assert route.state.is_completed(), route.state
    # Three drafts: each starts a review run (suspended, waiting for a decision in the UI),
    # a worker process apiece; three show the path without queueing the report behind
    # a hundred of them.
    drafted = wait_final(trigger("draft-replies/scheduled", {"limit": 3}), timeout=300)
    assert drafted.state.is_completed(), drafted.state
    # This week's report, so it counts what this run stored (the schedule's own run, on
    # Mondays, reports the week before).
    week = this_week()
    report = wait_final(trigger("weekly-report/scheduled", {"week": week}), timeout=300)
    assert report.state.is_completed(), report.state
    in_week = mentions_in_week(database_url, week)  # before later runs store more
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    since = until - timedelta(hours=3)
    window = {"since": since.isoformat(), "until": until.isoformat(), "reclassify": True}
    backfill = wait_final(trigger("backfill-mentions/backfill", window), timeout=420)
    assert backfill.state.is_completed(), backfill.state

    # A deployment failing twice in a row, then the watchdog.
    broken = {"channels": ["no-such-channel"]}
    for _ in range(2):
        failed = wait_final(trigger("ingest-mentions/backfill", broken), timeout=300)
        assert failed.state.is_failed(), failed.state
    watch = wait_final(trigger("watch-pipeline/scheduled"), timeout=300)
    assert watch.state.is_completed(), watch.state
    return Runs(ingest, route, drafted, report, week, in_week, backfill, window, failed, watch)


def check_ui(browser: Browser, ui: str, out: Path, runs: Runs) -> None:
    """The deployments and the runs' artifacts as a person sees them in the UI."""
    from prefect.client.orchestration import get_client

    from deployments.catalog import CATALOG

    # The list shows ten rows, A to Z by deployment name: seven are called
    # "scheduled", so which of those falls on page two is the server's choice. The
    # list is checked for its count and the names that sort first; each scheduled
    # stage the run used is then opened on its own page.
    text = browser.show(
        f"{ui}/deployments",
        [f"{len(CATALOG)} Deployments", "backfill-mentions", "classify-mentions"],
        out / "deployments.png",
    )
    assert "scheduled" in text and "backfill" in text
    for full_name, every in (
        ("watch-pipeline/scheduled", "Every 5 minutes"),
        ("route-mentions/scheduled", "Every minute"),
    ):
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(full_name)
        flow_name = full_name.split("/")[0]
        browser.show(
            f"{ui}/deployments/deployment/{deployment.id}",
            [flow_name, every],
            out / f"deployment-{flow_name}.png",
        )
    browser.show(
        f"{ui}/runs/flow-run/{runs.ingest.id}",
        ["ingest-summary", "Mentions ingested per channel"],  # the card's description
        out / "flow-run-artifacts.png",
        click="Artifacts",
    )
    browser.show(
        f"{ui}/runs/flow-run/{runs.backfill.id}",
        ["backfill-progress", "backfill-summary", "Days backfilled per channel"],
        out / "backfill-artifacts.png",
        click="Artifacts",
    )
    browser.show(
        f"{ui}/runs/flow-run/{runs.report.id}",
        [f"weekly-report-{runs.week.lower()}", f"weekly-report-{runs.week.lower()}-sla"],
        out / "weekly-report-artifacts.png",
        click="Artifacts",
    )
    summary = artifacts_of(runs.ingest.id)["ingest-summary"]
    browser.show(
        f"{ui}/artifacts/artifact/{summary.id}",
        ["Mentions ingested", "mastodon-main", "mastodon-help"],
        out / "ingest-summary.png",
    )


class Postgres:
    """Fresh databases on the test cluster for one e2e run, dropped at the end."""

    def __init__(self, base: str | None) -> None:
        self.base = base
        self.names: list[str] = []

    def _admin(self) -> Any:
        from sqlalchemy import create_engine

        return create_engine(str(self.base), isolation_level="AUTOCOMMIT")

    def create(self, purpose: str, driver: str = "postgresql+psycopg") -> str | None:
        if not self.base:
            return None
        from sqlalchemy import text
        from sqlalchemy.engine import make_url

        name = f"e2e_{purpose}_{os.getpid()}_{int(time.time())}"
        engine = self._admin()
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        self.names.append(name)
        url = make_url(self.base).set(drivername=driver, database=name)
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.names:
            return
        from sqlalchemy import text

        from socialops.db import dispose_engines

        dispose_engines()
        engine = self._admin()
        with engine.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def concurrently(window: dict[str, Any], out: Path, workers: int) -> None:
    """Four stages at once over the same channels, spread over the workers."""
    runs = [
        trigger("ingest-mentions/scheduled"),
        trigger("backfill-mentions/backfill", {**window, "force": True}),
        trigger("route-mentions/scheduled"),
        trigger("classify-mentions/reclassify", {"since": window["since"]}),
    ]
    for flow_run_id in runs:
        flow_run = wait_final(flow_run_id, timeout=420)
        assert flow_run.state.is_completed(), flow_run.state
    # The worker that ran a flow run has its "View at .../runs/flow-run/ID" line; both may log
    # "submitting" it, the loser then "Aborted submission" (the server gives a run to one).
    took = {
        n: sum(f"runs/flow-run/{r}" in (out / f"worker-{n}.log").read_text() for r in runs)
        for n in range(1, workers + 1)
    }
    say(f"runs taken per worker in the concurrent step: {took}")
    assert sum(took.values()) == len(runs) and all(took.values()), took
    # What the live ingest stored after the route run classified: classified by the next one.
    settle = wait_final(trigger("route-mentions/scheduled"), timeout=300)
    assert settle.state.is_completed(), settle.state


def check_database(url: str, failed_run: Any, ui: str) -> None:
    from sqlalchemy import func, select

    from socialops import storage
    from socialops.backfill import BackfillDayRow
    from socialops.db import session_scope

    with session_scope(url) as session:

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        mentions = count(storage.MentionRow)
        ids = session.scalars(select(storage.MentionRow.external_id)).all()
        assert mentions > 50 and len(ids) == len(set(ids)), mentions
        assert count(storage.ClassificationRow) >= mentions
        current = session.scalars(
            select(storage.ClassificationRow.mention_id).where(
                storage.ClassificationRow.is_current.is_(True)
            )
        ).all()
        assert len(current) == len(set(current)) == mentions  # one current decision each
        owned = session.scalars(select(storage.AssignmentRow.mention_id)).all()
        assert len(owned) == len(set(owned))  # nobody routed twice
        assert count(storage.AssignmentRow) > 0
        assert count(BackfillDayRow) >= 2
        alerts = session.scalars(
            select(storage.NotificationRow).where(storage.NotificationRow.event == "pipeline")
        ).all()
    failing = [a for a in alerts if "ingest-mentions/backfill" in a.title]
    assert failing, [a.title for a in alerts]
    assert f"{ui}/runs/flow-run/{failed_run}" in failing[0].body, failing[0].body
    say(f"{mentions} mentions once each; operations told: {failing[0].title}")


def check_artifacts(ingest: Any, route: Any, backfill: Any, watch: Any) -> None:
    found = artifacts_of(ingest)
    assert "ingest-summary" in found, found
    assert "| mastodon-main |" in str(found["ingest-summary"].data)
    assert "classification-summary" in artifacts_of(route, subflows=True)
    found = artifacts_of(backfill)
    assert {"backfill-progress", "backfill-summary"} <= set(found), found
    assert float(found["backfill-progress"].data) == 100.0
    assert "pipeline-health" in artifacts_of(watch)


def this_week() -> str:
    """The ISO week of now in the organisation's time zone (the default organisation file)."""
    from socialops.config import load_config
    from socialops.report.week import IsoWeek
    from socialops.settings import DEFAULT_CONFIG

    zone = load_config(DEFAULT_CONFIG).organisation.timezone
    return IsoWeek.containing(datetime.now(UTC), zone).label


def mentions_in_week(url: str, week: str) -> int:
    """This week's stored mentions (by their platform time), counted with the test's own SQL."""
    from sqlalchemy import func, select

    from socialops import storage
    from socialops.config import load_config
    from socialops.db import session_scope
    from socialops.report.week import IsoWeek
    from socialops.settings import DEFAULT_CONFIG

    span = IsoWeek.parse(week, load_config(DEFAULT_CONFIG).organisation.timezone)
    with session_scope(url) as session:
        return int(
            session.execute(
                select(func.count())
                .select_from(storage.MentionRow)
                .where(storage.MentionRow.created_at >= span.start)
                .where(storage.MentionRow.created_at < span.end)
            ).scalar_one()
        )


def check_drafts_and_report(drafted: Any, report: Any, week: str, home: Path, stored: int) -> None:
    """The drafting run's summary, and the report run's files and artifacts, agree with the
    database: the report's channel and department volumes add up to its total, which is the
    number of this week's mentions stored when it ran."""
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    assert "draft-replies-summary" in artifacts_of(drafted)
    from prefect.client.orchestration import get_client

    def suspended() -> list[Any] | None:
        with get_client(sync_client=True) as client:
            review = client.read_deployment_by_name("review-draft/review")
            runs = client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[review.id]))
            )
        assert len(runs) == 3, [r.name for r in runs]
        return runs if all(r.state and r.state.is_paused() for r in runs) else None

    # Two start at a time (the deployment's limit); the third waits for a slot, then all three
    # wait Suspended for a person.
    runs = wait_for("three review runs suspended", suspended, 240, every=3)
    say(f"review runs waiting for a decision: {sorted(r.name for r in runs)}")
    found = artifacts_of(report)
    key = f"weekly-report-{week.lower()}"
    assert {key, key + "-sla"} <= set(found), found
    files = sorted((home / "reports").glob(f"*{week}*"))
    assert {p.suffix for p in files} >= {".html", ".json", ".md", ".csv"}, files
    data = json.loads(next(p for p in files if p.suffix == ".json").read_text())
    assert data["week"] == week
    total = sum(data["volume_by_channel"].values())
    assert total == sum(data["volume_by_department"].values())
    assert total == stored, (total, stored)
    say(f"report {week}: {total} mentions, files {[p.name for p in files]}")


if __name__ == "__main__":
    sys.exit(main())
