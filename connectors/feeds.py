"""Several newest-first streams of one platform (notifications, keyword searches) as ONE feed.

The crash-safe walk (``socialops.ingest``) pages a feed backwards with ``max_id`` and forwards
with ``min_id``, the way Mastodon does. Bluesky and Reddit page only backwards (an opaque cursor,
an ``after`` fullname) and a channel reads several streams, so :class:`MergedFeed` gives them
that shape:

- **Backwards** (the first run, a backfill): one stream after another, each from its newest
  item down to the channel's backfill cutoff. The cursor is ``"<stream>:<platform cursor>"``,
  so an interrupted walk resumes in the same stream at the same place; ``"end"`` when done.
- **Forwards** (every later run): the position is a time, ``"t:<ISO 8601>"``, the newest
  platform time stored. Each stream is read from its newest item down to that time minus a
  re-read window (items indexed late, e.g. a search index that lags, are still found), the
  items are merged, and handed out **oldest first**, so every committed batch's position covers
  everything before it and a crash loses nothing.
- **Once per channel**: a post found through two streams (a notification and a search) is
  handed out once; the second sighting is a skipped item that says where it was found first.
  Storage's uniqueness on (platform, external_id) covers sightings in different runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from connectors.errors import Rejected
from socialops.mentions import InvalidItem, Mention, MentionPage, SkippedItem

logger = logging.getLogger(__name__)

END = "end"
_FUTURE_MARGIN = timedelta(minutes=5)
_WATERMARK = "t:"


@dataclass(frozen=True)
class Entry:
    """One item of a stream page, mapped, with the time and key the merge needs."""

    item: Mention | InvalidItem | SkippedItem
    at: datetime | None
    """The platform's paging time (``indexedAt``, ``created_utc``); ``None`` when unreadable."""
    key: str | None = None
    """The post's identity (``Mention.external_id``, also read from an item that did not
    parse), so a post seen through two streams is stored, or quarantined, once."""


@dataclass(frozen=True)
class StreamPage:
    """A page of one stream, newest first, and the cursor of the page older than it."""

    entries: list[Entry]
    next_cursor: str | None


FetchPage = Callable[[str | None, datetime | None, int], StreamPage]
"""``(cursor, since, limit) -> page``: ``since`` may be used to filter on the server."""


@dataclass(frozen=True)
class Stream:
    """A named newest-first stream of a platform (``notifications``, ``search:northwind``)."""

    name: str
    fetch: FetchPage


def watermark(at: datetime, chunk: int | None = None) -> str:
    """A time position; ``chunk`` numbers the pages of one forward sweep, so each page's cursor
    differs from the last even when re-read items leave the time where it was (the walk stops
    on a cursor that does not move)."""
    mark = _WATERMARK + at.astimezone(UTC).isoformat()
    return mark if chunk is None else f"{mark}#{chunk}"


def _chunk_of(cursor: str) -> int:
    """The page number of a time position (0 when it has none)."""
    number = cursor.partition("#")[2]
    return int(number) if number.isdigit() else 0


def parse_watermark(cursor: str) -> datetime:
    if cursor.startswith(_WATERMARK):
        try:
            parsed = datetime.fromisoformat(cursor[len(_WATERMARK) :].partition("#")[0])
        except ValueError:
            pass
        else:
            if parsed.tzinfo is not None:
                return parsed
    raise Rejected(
        f"stored position {cursor!r} is not a time position; "
        "run `socialops ingest --backfill-hours H` for this channel to start again"
    )


class MergedFeed:
    """A ``MentionSource`` over several streams (see the module's docstring)."""

    # Each forward sweep already re-reads ``reread`` behind the position, stream by stream, so
    # the walk's own overlap re-read (by Mastodon-style ids) is not for this source.
    rereads_overlap = True

    def __init__(
        self,
        streams: Sequence[Stream],
        *,
        cutoff: datetime,
        reread: timedelta,
        max_pages: int,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not streams:
            raise ValueError("give at least one stream")
        self.streams = list(streams)
        self.cutoff = cutoff
        self.reread = reread
        self.max_pages = max_pages
        self._now = now
        self._first_seen: dict[str, str] = {}
        self._pending: list[Entry] | None = None
        self._chunks = 0
        self.complete = True
        """False when a forward sweep stopped at ``max_pages`` before reaching the position."""

    # -- MentionSource ----------------------------------------------------------------------
    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        if max_id is not None and min_id is not None:
            raise ValueError("pass max_id or min_id, not both")
        if min_id is not None:
            return self._newer(min_id, limit)
        return self._older(max_id, limit)

    def _times(self, entries: list[Entry]) -> list[datetime]:
        """The paging times to trust: a time in the future (a broken or hostile item, e.g. a
        Reddit ``created_utc`` in 2099) must never become the position, or everything before
        it would be skipped."""
        latest = self._now() + _FUTURE_MARGIN
        return [e.at for e in entries if e.at is not None and e.at <= latest]

    # -- backwards ---------------------------------------------------------------------------
    def _older(self, cursor: str | None, limit: int) -> MentionPage:
        index, token = self._decode(cursor)
        while index < len(self.streams):
            stream = self.streams[index]
            page = stream.fetch(token, self.cutoff, limit)
            times = self._times(page.entries)
            stream_done = (
                not page.entries
                or page.next_cursor is None
                or bool(times and min(times) < self.cutoff)
            )
            if stream_done:
                following = f"{index + 1}:" if index + 1 < len(self.streams) else END
            else:
                following = f"{index}:{page.next_cursor}"
            if page.entries:
                out = MentionPage(direction="older", oldest_cursor=following)
                self._fill(out, page.entries, stream.name)
                if times:
                    out.newest_cursor = watermark(max(times))
                return out
            index, token = index + 1, None
        return MentionPage(direction="older")

    def _decode(self, cursor: str | None) -> tuple[int, str | None]:
        if cursor is None:
            return 0, None
        if cursor == END:
            return len(self.streams), None
        head, sep, token = cursor.partition(":")
        if sep and head.isdigit() and int(head) < len(self.streams):
            return int(head), token or None
        raise Rejected(
            f"stored backfill position {cursor!r} is not understood (the channel's search "
            "keywords changed?); run `socialops ingest --backfill-hours H` to start again"
        )

    # -- forwards ----------------------------------------------------------------------------
    def _newer(self, position: str, limit: int) -> MentionPage:
        since = parse_watermark(position)
        if self._pending is None:
            self._pending = self._sweep(since - self.reread, limit)
            # Chunks go on from the position's number: a sweep that finds only what it
            # re-read leaves the time where it was, and its first cursor must still differ
            # from the position it started at (or the walk stops as on a stuck server).
            self._chunks = _chunk_of(position)
        chunk, self._pending = self._pending[:limit], self._pending[limit:]
        out = MentionPage(direction="newer")
        if not chunk:
            return out
        for entry in chunk:
            self._put(out, entry.item)
        top = max([since, *self._times(chunk)])
        self._chunks += 1
        out.newest_cursor = watermark(top, self._chunks)
        out.oldest_cursor = out.newest_cursor
        return out

    def _sweep(self, floor: datetime, limit: int) -> list[Entry]:
        """Every stream's entries from its newest down to ``floor``, merged oldest first."""
        found: list[tuple[datetime, int, Entry]] = []
        order = 0
        for stream in self.streams:
            token: str | None = None
            for pages in range(1, self.max_pages + 1):
                page = stream.fetch(token, floor, limit)
                for entry in page.entries:
                    if entry.at is not None and entry.at < floor:
                        continue
                    if entry.key is not None and not isinstance(entry.item, SkippedItem):
                        first = self._first_seen.setdefault(entry.key, stream.name)
                        if first != stream.name:
                            entry = _seen_before(entry, first)
                    order += 1
                    found.append((entry.at or floor, order, entry))
                times = self._times(page.entries)
                if not page.entries or page.next_cursor is None or (times and min(times) < floor):
                    break
                token = page.next_cursor
                if pages == self.max_pages:
                    self.complete = False
                    logger.warning(
                        "%s: stopped after %d pages before reaching %s; older items of this "
                        "sweep are not read (run ingest more often)",
                        stream.name,
                        pages,
                        floor.isoformat(),
                    )
        found.sort(key=lambda t: (t[0], -t[1]))
        return [entry for _at, _order, entry in found]

    # -- shared ------------------------------------------------------------------------------
    def _fill(self, out: MentionPage, entries: list[Entry], stream: str) -> None:
        for entry in entries:
            if entry.key is not None and not isinstance(entry.item, SkippedItem):
                first = self._first_seen.setdefault(entry.key, stream)
                if first != stream:
                    entry = _seen_before(entry, first)
            self._put(out, entry.item)

    @staticmethod
    def _put(out: MentionPage, item: Mention | InvalidItem | SkippedItem) -> None:
        if isinstance(item, Mention):
            out.mentions.append(item)
        elif isinstance(item, InvalidItem):
            out.invalid.append(item)
        else:
            out.skipped.append(item)


def _seen_before(entry: Entry, first: str) -> Entry:
    return Entry(
        item=SkippedItem(cursor=entry.key, reason=f"already found through {first}"),
        at=entry.at,
        key=entry.key,
    )


class MergedFeedSource:
    """What a client whose mentions come from several streams (its own notifications, then a
    search per brand keyword) gives the walk: one ``MergedFeed`` over them.

    The feed re-reads its own window behind the position each forward sweep, so the walk's
    Mastodon-style overlap re-read is not for these sources (``rereads_overlap``).
    """

    rereads_overlap = True
    feed: MergedFeed

    def merge_streams(
        self,
        first: Stream,
        *,
        search: Sequence[str],
        searcher: Callable[[str], FetchPage],
        backfill_hours: float,
        reread: timedelta,
        max_pages: int,
        now: Callable[[], datetime],
    ) -> None:
        """``first``, then one stream per distinct search keyword, as this source's feed."""
        streams = [first]
        streams += [Stream(f"search {q!r}", searcher(q)) for q in dict.fromkeys(search)]
        self.feed = MergedFeed(
            streams,
            cutoff=now() - timedelta(hours=backfill_hours),
            reread=reread,
            max_pages=max_pages,
            now=now,
        )

    def fetch_mentions_page(
        self, *, max_id: str | None = None, min_id: str | None = None, limit: int = 80
    ) -> MentionPage:
        """One page of the merged feed."""
        return self.feed.fetch_mentions_page(max_id=max_id, min_id=min_id, limit=limit)
