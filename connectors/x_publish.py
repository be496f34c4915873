"""X as a publisher: posts and replies through ``POST /2/tweets`` within the channel's monthly
write budget, and the account's own recent posts for reconciliation (X takes no idempotency
key)."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import datetime, timedelta

from connectors import x, x_payloads
from connectors.errors import RateLimited, Rejected
from connectors.mastodon_payloads import parse_rfc3339
from socialops.signoff.publishing import RECONCILE_SLACK, OwnStatus, Posted, find_words

RECONCILE_PAGES = 3
"""Pages of up to 100 own posts read back to the first attempt (each post read is billed)."""
DUPLICATE_LOOKBACK = timedelta(days=1)


def post_url(tweet_id: str) -> str:
    """A link to a post that needs no username."""
    return f"https://x.com/i/web/status/{tweet_id}"


def _replied_to(tweet: x_payloads.Tweet) -> str | None:
    return next((r.id for r in tweet.referenced_tweets if r.type == "replied_to"), None)


class XPublisher:
    """One X account (the channel's ``user_id``)."""

    def __init__(self, client: x.XClient, *, channel: str) -> None:
        self.client = client
        self.channel = channel

    def post(
        self,
        *,
        text: str,
        in_reply_to: str | None,
        idempotency_key: str,
        visibility: str,
        lang: str | None = None,
    ) -> Posted:
        """Post ``text`` (a reply when ``in_reply_to`` is given). A month's write budget that is
        spent raises ``RateLimited`` until the first of next month: the item waits, approved.
        X refuses a text the account has posted before ("duplicate content"): if that earlier
        post is this very reply (an attempt whose answer was lost), it is what was published.
        X detects a post's language itself: ``lang`` is not sent."""
        try:
            tweet = self.client.create_post(text=text, in_reply_to=in_reply_to)
        except x.BudgetExhausted as exc:
            raise RateLimited(str(exc), reset_at=exc.resets_at) from exc
        except Rejected as exc:
            if exc.status_code == 429:  # X's usage cap: it lifts with the period, not by retrying
                raise RateLimited(
                    f"{exc}; waiting until {self.client.guard.next_month():%Y-%m-%d}",
                    reset_at=self.client.guard.next_month(),
                ) from exc
            if "duplicate content" not in str(exc).lower():
                raise
            want = find_words(text)
            since = self.client.guard.now() - DUPLICATE_LOOKBACK
            for own in self.own_posts(since=since):
                if own.in_reply_to_id == in_reply_to and find_words(own.text) == want:
                    return Posted(id=own.id, url=own.url)
            raise Rejected(
                f"{exc}: X refuses a text this account has already posted; edit the draft",
                status_code=exc.status_code,
            ) from exc
        return Posted(id=tweet.id, url=post_url(tweet.id))

    def own_posts(self, *, since: datetime) -> Iterator[OwnStatus]:
        """The account's posts and replies since ``since`` less the slack, newest first; the
        post a reply answers comes from ``referenced_tweets`` (type ``replied_to``)."""
        token: str | None = None
        start = since - RECONCILE_SLACK
        for _ in range(RECONCILE_PAGES):
            try:
                tweets, token = self.client.own_posts_page(start_time=start, pagination_token=token)
            except x.BudgetExhausted as exc:
                raise RateLimited(str(exc), reset_at=exc.resets_at) from exc
            for tweet in tweets:
                yield OwnStatus(
                    id=tweet.id,
                    url=post_url(tweet.id),
                    in_reply_to_id=_replied_to(tweet),
                    text=html.unescape(tweet.note_tweet.text if tweet.note_tweet else tweet.text),
                    created_at=parse_rfc3339(tweet.created_at),
                )
            if token is None:
                return
