"""Conversation linking (issue 11): how often would it merge two people, or two issues?

    .venv/bin/python benchmarks/conversation_links.py [--pairs 150000] [--mentions 6000]
        [--route 2000] [--only-cost] [--database-url URL] [--profile] [--repeat N]

Prints four figures on the quality of linking, then what it costs a routing pass (5.). Four
figures, on data the linker never saw while its thresholds were chosen:

1. **Same complaint, different people** (text): the character n-gram cosine of every pair of
   different hand-written mentions of the same department (data/labelled and data/eval: real
   people's wording of the same kinds of complaint; sampled pairs), and the share at or above
   each threshold. A heuristic identity match only links above ``heuristic_similarity``.
2. **Cross-posts** (recall): each text posted again on another platform (the brand's handle
   there, a hashtag, Bluesky's 300-character limit, X's 280), and the share still above the
   thresholds.
3. **Different people, same handle** (identity): the sandbox's population (persona names drawn
   the way real handles are: first names, initials, words and numbers) on Mastodon and Bluesky;
   the share of pairs of different people the heuristic takes for one.
4. **A simulated week** (both together): the sandbox's people (regulars write often) post the
   labelled texts on two platforms, 10 % of posts are cross-posted by their author within 6 h;
   every linking decision is made as routing makes it (same department, 72 h window, evidence,
   thresholds). False merges: links joining two people or two different texts.
5. **What linking costs a routing pass**: ``--route`` classified mentions (the sandbox's people,
   the labelled texts, 10 % cross-posted on the other platform within 6 h, spread over the two
   days before a Monday 10:00) stored in a fresh database and routed in one pass by the real
   ``route_classified`` on the shipped organisation, once with ``conversations.enabled: false``
   and once with it on: wall and CPU seconds of the pass, the ratio, and a digest of every
   linking decision (identical digests: identical decisions). SQLite in a temporary folder,
   or ``--database-url`` (an empty PostgreSQL database: both runs drop and recreate its schema).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox import content  # noqa: E402
from socialops import conversations as cv  # noqa: E402
from socialops.storage import MentionRow  # noqa: E402

THRESHOLDS = (0.3, 0.4, 0.5, 0.6, 0.7)
KNOWN, HEURISTIC = 0.4, 0.6  # the shipped defaults (config: conversations.*)


def texts() -> list[tuple[str, str]]:
    rows = []
    for path in [
        REPO / "data/labelled/mentions.jsonl",
        *sorted((REPO / "data/eval").glob("*.jsonl")),
    ]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["department"] != "none":
                rows.append((row["department"], row["text"]))
    return rows


def cross_post(text: str, platform: str, rng: random.Random) -> str:
    """The same words on another platform: its brand handle, maybe a hashtag, its length."""
    body = " ".join(w for w in text.split() if not w.startswith("@"))
    handle = {"bluesky": "@northwind.bsky.social", "x": "@northwind", "mastodon": "@northwind"}
    out = f"{handle[platform]} {body}"
    if rng.random() < 0.3:
        out += " #northwind"
    limit = {"bluesky": 300, "x": 280}.get(platform)
    if limit and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def figure_text(rows: list[tuple[str, str]], pairs: int, rng: random.Random) -> None:
    by_dept: dict[str, list[int]] = defaultdict(list)
    for i, (dept, _t) in enumerate(rows):
        by_dept[dept].append(i)
    grams = [cv.ngrams(t) for _d, t in rows]
    total = sum(len(v) * (len(v) - 1) // 2 for v in by_dept.values())
    depts = list(by_dept)
    weights = [len(by_dept[d]) * (len(by_dept[d]) - 1) / 2 for d in depts]
    started = time.perf_counter()
    scores = []
    for _ in range(min(pairs, total)):
        members = by_dept[rng.choices(depts, weights)[0]]
        a, b = rng.sample(members, 2)
        scores.append(cv.cosine(grams[a], grams[b]))
    took = time.perf_counter() - started
    print(
        f"1. same department, different people: {len(scores):,} of {total:,} pairs sampled "
        f"({len(rows):,} texts; {len(scores) / took:,.0f} comparisons/s)"
    )
    for t in THRESHOLDS:
        share = sum(s >= t for s in scores) / len(scores)
        print(f"   cosine >= {t:.1f}: {share:8.3%}")


def figure_recall(rows: list[tuple[str, str]], rng: random.Random) -> None:
    scores = [cv.similarity(t, cross_post(t, rng.choice(("bluesky", "x")), rng)) for _d, t in rows]
    print(
        f"2. cross-posts ({len(scores):,}): share still >= {KNOWN} / >= {HEURISTIC}: "
        f"{sum(s >= KNOWN for s in scores) / len(scores):.2%} / "
        f"{sum(s >= HEURISTIC for s in scores) / len(scores):.2%}"
    )


def person(seed: int, population: str, index: int) -> content.Persona:
    key = f"{population}:{index}"
    return content.persona(
        random.Random(f"{seed}|persona|{key}"), population=population, index=index
    )


def row(
    platform: str, who: content.Persona, text: str = "", at: datetime | None = None
) -> MentionRow:
    """A mention as the connectors store it (the sandbox's handle conventions per platform)."""
    if platform == "mastodon":
        handle = f"{who.username}@{who.domain or 'social.example'}"
    else:
        handle = f"{who.username.lower().replace('_', '-')}.bsky.social"
    return MentionRow(
        platform=platform,
        author_handle=handle,
        author_display_name=who.display_name,
        raw={},
        text=text,
        created_at=at,
    )


def figure_identity(seeds: int = 3) -> None:
    compared = matched = 0
    kinds: dict[str, int] = defaultdict(int)
    for seed in range(seeds):
        people = [person(seed, "public", i) for i in range(3000)]
        people += [person(seed, "press", i) for i in range(40)]
        people += [person(seed, "bots", i) for i in range(150)]
        m = [cv.identity_of(row("mastodon", p)) for p in people]
        b = [cv.identity_of(row("bluesky", p)) for p in people]
        by_local: dict[str, list[int]] = defaultdict(list)
        by_display: dict[str, list[int]] = defaultdict(list)
        for j, ident in enumerate(b):
            if ident.local:
                by_local[ident.local].append(j)
            if ident.display:
                by_display[ident.display].append(j)
        n = len(people)
        compared += n * (n - 1)
        for i, ident in enumerate(m):
            hits = set(by_local.get(ident.local, ())) | set(by_display.get(ident.display, ()))
            for j in hits - {i}:
                evidence = cv.same_person(ident, b[j], directory={})
                if evidence is not None:
                    matched += 1
                    kinds[evidence.kind] += 1
    print(
        f"3. different people taken for one by handle/display name: {matched:,} of "
        f"{compared:,} cross-platform pairs ({matched / compared:.4%}; {dict(kinds)})"
    )


def figure_week(rows: list[tuple[str, str]], mentions: int, rng: random.Random) -> None:
    seed = 7
    people = [person(seed, "public", i) for i in range(3000)]
    start = datetime(2026, 11, 30, tzinfo=UTC)
    posts = []  # (at, platform, person index, text index, text)
    for _ in range(mentions):
        who = int(3000 * rng.random() ** 2.2)  # regulars write again and again (as the sandbox)
        ti = rng.randrange(len(rows))
        at = start + timedelta(seconds=rng.uniform(0, 7 * 86400))
        platform = rng.choice(("mastodon", "bluesky"))
        posts.append((at, platform, who, ti, cross_post(rows[ti][1], platform, rng)))
        if rng.random() < 0.10:
            other = "bluesky" if platform == "mastodon" else "mastodon"
            later = at + timedelta(seconds=rng.uniform(60, 6 * 3600))
            posts.append((later, other, who, ti, cross_post(rows[ti][1], other, rng)))
    posts.sort()
    window = timedelta(hours=72)
    open_items: list[tuple[datetime, str, int, int, cv.Identity, object, str]] = []
    links = false_people = false_issue = missed = copied = 0
    truth_pairs = sum(
        1
        for i, p in enumerate(posts)
        for q in posts[:i]
        if q[2] == p[2] and q[3] == p[3] and q[1] != p[1] and p[0] - q[0] <= window
    )
    started = time.perf_counter()
    for at, platform, who, ti, text in posts:
        ident = cv.identity_of(row(platform, people[who]))
        grams = cv.ngrams(text)
        dept = rows[ti][0]
        best = None
        for at2, platform2, who2, ti2, ident2, grams2, dept2 in open_items:
            if platform2 == platform or dept2 != dept or at - at2 > window:
                continue
            evidence = cv.same_person(ident, ident2, directory={})
            if evidence is None:
                continue
            score = cv.cosine(grams, grams2)  # type: ignore[arg-type]
            if score >= (KNOWN if evidence.known else HEURISTIC) and (
                best is None or score > best[0]
            ):
                best = (score, who2, ti2)
        if best is not None:
            links += 1
            false_people += best[1] != who
            copied += best[1] != who and best[2] == ti
            false_issue += best[1] == who and best[2] != ti
        open_items.append((at, platform, who, ti, ident, grams, dept))
        open_items = [o for o in open_items if at - o[0] <= window]
    took = time.perf_counter() - started
    true_links = links - false_people - false_issue
    missed = max(0, truth_pairs - true_links)
    wrong = false_people + false_issue
    print(
        f"4. simulated week: {len(posts):,} mentions, {truth_pairs:,} true cross-posts; "
        f"{links:,} links: {false_people} join two people ({copied} of them posting the very "
        f"same text), {false_issue} join one person's two different texts"
    )
    print(
        f"   false-merge rate {wrong / max(links, 1):.2%} of links, "
        f"{wrong / len(posts) * 10_000:.1f} per 10,000 mentions; cross-posts missed: {missed} "
        f"({took:.1f} s)"
    )


MONDAY_10 = datetime(2026, 11, 30, 10, tzinfo=UTC)  # the care desk is open


def _store(url: str, rows: list[tuple[str, str]], mentions: int, rng: random.Random) -> None:
    """``mentions`` classified mentions by the sandbox's people, 10 % cross-posted."""
    from socialops import storage
    from socialops.db import session_scope

    seed = 7
    people = [person(seed, "public", i) for i in range(3000)]
    labels = {}
    for line in (REPO / "data/labelled/mentions.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        labels[item["text"]] = bool(item["urgent"])
    posts = []  # (at, platform, person, text index, text)
    while len(posts) < mentions:
        who = int(3000 * rng.random() ** 2.2)
        ti = rng.randrange(len(rows))
        at = MONDAY_10 - timedelta(seconds=rng.uniform(600, 2 * 86400))
        platform = rng.choice(("mastodon", "bluesky"))
        posts.append((at, platform, who, ti, cross_post(rows[ti][1], platform, rng)))
        if rng.random() < 0.10 and len(posts) < mentions:
            other = "bluesky" if platform == "mastodon" else "mastodon"
            later = min(at + timedelta(seconds=rng.uniform(60, 6 * 3600)), MONDAY_10)
            posts.append((later, other, who, ti, cross_post(rows[ti][1], other, rng)))
    with session_scope(url) as session:
        for n, (at, platform, who, ti, text) in enumerate(posts):
            mention = row(platform, people[who], text, at)
            mention.external_id = f"bench-{n}"
            mention.channel = f"{platform}-main"
            mention.url = f"https://{platform}.example/{n}"
            mention.fetched_at = at + timedelta(seconds=30)
            session.add(mention)
            session.flush()
            session.add(
                storage.ClassificationRow(
                    mention_id=mention.id,
                    department=rows[ti][0],
                    urgent=labels.get(rows[ti][1], False),
                    sentiment="negative",
                    confidence=0.9,
                    explanation={"summary": "benchmark"},
                    model_version="benchmark",
                    classified_at=at,
                    is_current=True,
                )
            )


def _reset(url: str) -> None:
    """An empty, migrated database at ``url``."""
    from sqlalchemy import text

    from socialops.db import dispose_engines, get_engine, migrate

    if url.startswith("postgresql"):
        with get_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        dispose_engines()
    migrate(url)


def figure_cost(
    rows: list[tuple[str, str]],
    mentions: int,
    database_url: str | None,
    profile: bool = False,
    repeat: int = 1,
) -> None:
    from sqlalchemy import event as sa_event
    from sqlalchemy import select

    from socialops import routing, storage
    from socialops.config import load_config
    from socialops.db import dispose_engines, get_engine, session_scope
    from socialops.rota.schedule import RotaEngine

    rows = [r for r in rows if r[0] != "none"]
    shipped = load_config(REPO / "config" / "northwind.yaml")
    engine = RotaEngine(shipped)
    figures: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for enabled in [False, True] * repeat:  # alternated: the machine's load hits both alike
        org = shipped.model_copy(
            update={"conversations": shipped.conversations.model_copy(update={"enabled": enabled})}
        )
        folder = tempfile.mkdtemp(prefix="socialops-links-bench-")
        url = database_url or f"sqlite:///{os.path.join(folder, 'bench.db')}"
        _reset(url)
        _store(url, rows, mentions, random.Random(5))
        statements = [0]

        def count(*_args: object, tally: list[int] = statements) -> None:
            tally[0] += 1

        sa_event.listen(get_engine(url), "before_cursor_execute", count)
        profiler = cProfile.Profile() if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler is not None:
            profiler.enable()
        with session_scope(url) as session:
            run = routing.route_classified(
                session=session, org=org, engine=engine, now=MONDAY_10, limit=mentions
            )
        if profiler is not None:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        sa_event.remove(get_engine(url), "before_cursor_execute", count)
        cm, cv_ = cv.ConversationMentionRow, cv.ConversationRow
        m = storage.MentionRow
        with session_scope(url) as session:
            decisions = session.execute(
                select(m.external_id, cm.role, cv_.opener_mention_id, cm.evidence)
                .join(cm, cm.mention_id == m.id)
                .join(cv_, cv_.id == cm.conversation_id)
                .order_by(m.external_id)
            ).all()
            openers = dict(session.execute(select(m.id, m.external_id)).all())
        digest = hashlib.sha256(
            json.dumps(
                [
                    (ext, role, openers[opener], ev.get("similar_to") and openers[ev["similar_to"]])
                    for ext, role, opener, ev in decisions
                ]
            ).encode()
        ).hexdigest()[:12]
        dispose_engines()
        figures[enabled].append((wall, cpu))
        if profiler is not None:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats("socialops", 25)
            print(f"--- profile, linking {'on' if enabled else 'off'} ---\n{out.getvalue()}")
        print(
            f"5. routing {mentions:,} mentions in one pass, linking "
            f"{'on ' if enabled else 'off'}: {wall:5.1f} s wall, {cpu:5.2f} s CPU, "
            f"{statements[0]:,} SQL statements; "
            f"{run.routed} routed, {run.queued} queued, {run.unassigned} unassigned, "
            f"{run.linked} linked (decisions {digest})"
        )
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    for name, pick in (("median", statistics.median), ("least", min)):
        off_wall, off_cpu = (pick(x) for x in zip(*figures[False], strict=True))
        on_wall, on_cpu = (pick(x) for x in zip(*figures[True], strict=True))
        print(
            f"   linking on / off, {name} of {repeat}: {on_cpu:.2f} / {off_cpu:.2f} s CPU = "
            f"{on_cpu / off_cpu:.2f}x; {on_wall:.2f} / {off_wall:.2f} s wall = "
            f"{on_wall / off_wall:.2f}x"
        )
    print(f"   (load average {load}; {'PostgreSQL' if database_url else 'SQLite'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=150_000)
    parser.add_argument("--mentions", type=int, default=6_000)
    parser.add_argument("--route", type=int, default=2_000, help="mentions in the routing pass")
    parser.add_argument("--only-cost", action="store_true", help="only figure 5")
    parser.add_argument("--database-url", help="an empty PostgreSQL database for figure 5")
    parser.add_argument("--profile", action="store_true", help="cProfile each pass of figure 5")
    parser.add_argument("--repeat", type=int, default=1, help="figure 5: pairs of passes")
    args = parser.parse_args()
    rng = random.Random(11)
    rows = texts()
    if args.only_cost:
        figure_cost(rows, args.route, args.database_url, args.profile, args.repeat)
        return
    figure_text(rows, args.pairs, rng)
    figure_recall(rows, rng)
    figure_identity()
    figure_week(rows, args.mentions, rng)
    figure_cost(rows, args.route, args.database_url, args.profile, args.repeat)


if __name__ == "__main__":
    main()
