"""Mastodon as a publisher: post a status, and list the account's own for reconciliation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from connectors import mastodon
from connectors.html_text import html_to_text
from socialops.signoff.publishing import RECONCILE_SLACK, OwnStatus, Posted

RECONCILE_PAGES = 5


class MastodonPublisher:
    """One Mastodon account; its id is looked up once, on the first reconciliation."""

    def __init__(self, client: mastodon.MastodonClient) -> None:
        self.client = client
        self._account_id: str | None = None

    def _account(self) -> str:
        if self._account_id is None:
            self._account_id = self.client.verify_credentials().id
        return self._account_id

    def post(
        self,
        *,
        text: str,
        in_reply_to: str | None,
        idempotency_key: str,
        visibility: str,
        lang: str | None = None,
    ) -> Posted:
        status = self.client.post_reply(
            in_reply_to=in_reply_to,
            text=text,
            idempotency_key=idempotency_key,
            visibility=visibility,
            language=lang,
        )
        return Posted(id=status.id, url=status.url or status.uri)

    def own_posts(self, *, since: datetime) -> Iterator[OwnStatus]:
        max_id: str | None = None
        for _ in range(RECONCILE_PAGES):
            page = self.client.recent_statuses(account_id=self._account(), max_id=max_id)
            if not page:
                return
            for status in page:
                yield OwnStatus(
                    id=status.id,
                    url=status.url or status.uri,
                    in_reply_to_id=status.in_reply_to_id,
                    text=html_to_text(status.content),
                    created_at=mastodon.parse_rfc3339(status.created_at),
                )
            oldest = mastodon.parse_rfc3339(page[-1].created_at)
            if oldest is not None and oldest < since - RECONCILE_SLACK:
                return
            max_id = page[-1].id
