"""Reddit as a publisher: replies as comments, planned posts in the channel's subreddit, and
the account's own history for reconciliation (Reddit takes no idempotency key)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from connectors import reddit, reddit_payloads
from connectors.errors import Rejected
from socialops.signoff.publishing import RECONCILE_SLACK, OwnStatus, Posted

RECONCILE_PAGES = 5
"""Pages of 100 of the account's own comments (and posts) read back to the first attempt."""


class RedditPublisher:
    """One Reddit account; its name is looked up once (``/api/v1/me``) unless configured."""

    def __init__(
        self,
        client: reddit.RedditClient,
        *,
        channel: str,
        username: str | None = None,
        subreddit: str | None = None,
    ) -> None:
        self.client = client
        self.channel = channel
        self.subreddit = subreddit
        self._username = username

    def _account(self) -> str:
        if not self._username:
            self._username = self.client.verify_credentials()["name"]
        return self._username

    def post(
        self,
        *,
        text: str,
        in_reply_to: str | None,
        idempotency_key: str,
        visibility: str,
        lang: str | None = None,
    ) -> Posted:
        """A reply (``thing_id`` = the mention's fullname) or, without ``in_reply_to``, a text
        post in the configured subreddit. ``visibility``, ``lang`` and the key have no Reddit
        equivalent: everything on Reddit is public, posts carry no language, and reconciliation
        stands in for the key."""
        if in_reply_to is not None:
            comment = self.client.comment(thing_id=in_reply_to, text=text)
            return Posted(id=comment.name, url=reddit_payloads.own_comment_url(comment))
        if not self.subreddit:
            raise Rejected(
                f"channel {self.channel!r}: a planned post on Reddit needs a subreddit to post "
                "in: set `subreddit:` on the channel in the configuration"
            )
        title, body = reddit_payloads.split_post(text)
        made = self.client.submit(subreddit=self.subreddit, title=title, text=body)
        return Posted(id=made.name, url=made.url)

    def own_posts(self, *, since: datetime) -> Iterator[OwnStatus]:
        """The account's comments (``parent_id`` as what they answer), then its posts when a
        subreddit is configured, newest first, back to ``since`` less the slack."""
        earliest = since - RECONCILE_SLACK
        after: str | None = None
        for _ in range(RECONCILE_PAGES):
            comments, after = self.client.own_comments(username=self._account(), after=after)
            for comment in comments:
                yield OwnStatus(
                    id=comment.name,
                    url=reddit_payloads.own_comment_url(comment),
                    in_reply_to_id=comment.parent_id,
                    text=comment.body,
                    created_at=_at(comment.created_utc),
                )
            oldest = _at(comments[-1].created_utc) if comments else None
            if after is None or (oldest is not None and oldest < earliest):
                break
        if not self.subreddit:
            return
        after = None
        for _ in range(RECONCILE_PAGES):
            posts, after = self.client.own_submissions(username=self._account(), after=after)
            for post in posts:
                yield OwnStatus(
                    id=post.name,
                    url=post.url
                    or (reddit_payloads.WEB + post.permalink if post.permalink else None),
                    in_reply_to_id=None,
                    text=reddit_payloads.submission_text(post),
                    created_at=_at(post.created_utc),
                )
            oldest = _at(posts[-1].created_utc) if posts else None
            if after is None or (oldest is not None and oldest < earliest):
                break


def _at(created_utc: float | None) -> datetime | None:
    return None if created_utc is None else reddit_payloads.epoch_time(created_utc)
