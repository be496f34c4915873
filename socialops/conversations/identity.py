"""The same person: who wrote a mention, and the evidence that two accounts are one person."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from socialops import storage
from socialops.conversations.tables import KNOWN, PLATFORM_NAMES, PLATFORMS, ConversationError

_BSKY_URL = re.compile(r"bsky\.app/profile/([a-z0-9][a-z0-9.\-]*[a-z0-9])", re.I)
_BSKY_HANDLE = re.compile(
    r"(?<![\w.@\-])([a-z0-9][a-z0-9\-]*(?:\.[a-z0-9\-]+)*\.bsky\.social)\b", re.I
)
_X_URL = re.compile(r"(?:twitter|x)\.com/(?!home\b|i/|intent/|search\b)@?([a-z0-9_]{1,15})\b", re.I)
_REDDIT = re.compile(r"(?:reddit\.com/u(?:ser)?/|(?<![\w/])/?u/)([a-z0-9_\-]{3,20})\b", re.I)
_MASTODON_AT = re.compile(r"(?<![\w])@([a-z0-9_]{1,30})@([a-z0-9\-]+(?:\.[a-z0-9\-]+)+)", re.I)
_MASTODON_URL = re.compile(r"https?://([a-z0-9\-]+(?:\.[a-z0-9\-]+)+)/@([a-z0-9_]{1,30})\b", re.I)
_HREF = re.compile(r"""href=["']([^"']+)["']""", re.I)
_TAG = re.compile(r"<[^>]+>")
_NOT_MASTODON_HOSTS = ("bsky.app", "x.com", "twitter.com", "reddit.com", "www.reddit.com")


def canonical(platform: str, handle: str) -> str:
    """An account as the directory and the evidence compare it: lower case, no leading ``@``
    (``jane@mastodon.social``, ``jane.bsky.social``, ``jane_doe`` on Reddit and X)."""
    handle = handle.strip().lower()
    if platform == "reddit":
        handle = handle.removeprefix("/").removeprefix("u/")
    return handle.lstrip("@")


def parse_account(text: str) -> tuple[str, str]:
    """``platform:handle`` (``mastodon:@jane@mastodon.social``, ``bluesky:jane.bsky.social``,
    ``reddit:u/jane``, ``x:@jane``) as ``(platform, canonical handle)``."""
    platform, sep, handle = text.partition(":")
    platform = platform.strip().lower()
    if not sep or platform not in PLATFORMS or not handle.strip():
        raise ConversationError(
            f"{text!r}: expected platform:handle, e.g. mastodon:@jane@mastodon.social or "
            f"bluesky:jane.bsky.social (platforms: {', '.join(PLATFORMS)})"
        )
    handle = canonical(platform, handle)
    if platform == "mastodon" and not re.fullmatch(r"[a-z0-9_]{1,30}@[a-z0-9\-.]+\.[a-z]+", handle):
        raise ConversationError(
            f"{text!r}: a Mastodon account needs its server too, e.g. @jane@mastodon.social"
        )
    if platform == "bluesky" and "." not in handle:
        raise ConversationError(f"{text!r}: a Bluesky handle is a domain, e.g. jane.bsky.social")
    if platform in ("reddit", "x") and not re.fullmatch(r"[a-z0-9_\-]{1,20}", handle):
        raise ConversationError(f"{text!r}: not a {PLATFORM_NAMES[platform]} username")
    return platform, handle


@dataclass(frozen=True)
class Identity:
    """Who wrote a mention, as far as linking is concerned."""

    platform: str
    handle: str  # canonical
    local: str  # the handle's local part, letters and digits only ("" if too short to match)
    display: str  # normalised display name ("" if too generic to match)
    points_to: frozenset[tuple[str, str]] = frozenset()  # accounts its profile names
    account: tuple[str, str] = field(init=False)  # (platform, handle)

    def __post_init__(self) -> None:
        object.__setattr__(self, "account", (self.platform, self.handle))


def _local_part(platform: str, handle: str) -> str:
    if platform == "mastodon":
        local = handle.split("@", 1)[0]
    elif platform == "bluesky":
        local = handle.split(".", 1)[0]
    else:
        local = handle
    local = re.sub(r"[^a-z0-9]", "", local)
    return local if len(local) >= 4 else ""  # "sam", "bob": too many people share them


def _display_key(name: str | None) -> str:
    words = [
        w for w in re.split(r"[^\w]+|_", unicodedata.normalize("NFKC", name or "").casefold()) if w
    ]
    words = [w for w in words if not w.isdigit()]
    # One word ("Sam", "Coffee Lover" is two) says too little about who someone is.
    return " ".join(words) if len(words) >= 2 and sum(map(len, words)) >= 6 else ""


def _author_payload(platform: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The author object the platform sent with the mention (may lack profile fields)."""
    if platform == "mastodon":
        status = raw.get("status") if isinstance(raw.get("status"), dict) else raw
        account = status.get("account") if isinstance(status, dict) else None
        return account if isinstance(account, dict) else {}
    if platform == "bluesky":
        author = raw.get("author")
        if not isinstance(author, dict) and isinstance(raw.get("post"), dict):
            author = raw["post"].get("author")
        return author if isinstance(author, dict) else {}
    if platform == "x":
        author = raw.get("author")
        return author if isinstance(author, dict) else {}
    return {}  # Reddit sends a username only


def _profile_texts(platform: str, author: dict[str, Any]) -> list[str]:
    """Profile text that may name other accounts: Mastodon's note and fields (HTML: the link
    targets are kept), Bluesky's description, X's description, url and entities."""
    texts: list[str] = []
    if platform == "mastodon":
        parts = [author.get("note")]
        for entry in author.get("fields") or []:
            if isinstance(entry, dict):
                parts.append(entry.get("value"))
        for part in parts:
            if isinstance(part, str) and part:
                texts.extend(_HREF.findall(part))
                texts.append(html.unescape(_TAG.sub(" ", part)))
    elif platform == "bluesky":
        if isinstance(author.get("description"), str):
            texts.append(author["description"])
    elif platform == "x":
        for key in ("description", "url"):
            if isinstance(author.get(key), str):
                texts.append(author[key])
        entities = author.get("entities")
        if isinstance(entities, dict):
            for group in entities.values():
                for url in (group or {}).get("urls", []) if isinstance(group, dict) else []:
                    if isinstance(url, dict) and isinstance(url.get("expanded_url"), str):
                        texts.append(url["expanded_url"])
    return texts


def accounts_named(texts: Iterable[str]) -> set[tuple[str, str]]:
    """Every account the texts name, by platform (``(platform, canonical handle)``)."""
    found: set[tuple[str, str]] = set()
    for text in texts:
        for handle in _BSKY_URL.findall(text) + _BSKY_HANDLE.findall(text):
            found.add(("bluesky", canonical("bluesky", handle)))
        for handle in _X_URL.findall(text):
            found.add(("x", canonical("x", handle)))
        for handle in _REDDIT.findall(text):
            found.add(("reddit", canonical("reddit", handle)))
        for user, host in _MASTODON_AT.findall(text):
            found.add(("mastodon", f"{user}@{host}".lower()))
        for host, user in _MASTODON_URL.findall(text):
            if host.lower() not in _NOT_MASTODON_HOSTS:
                found.add(("mastodon", f"{user}@{host}".lower()))
    return found


def identity_of(mention: storage.MentionRow) -> Identity:
    """Who wrote ``mention``: its canonical account, the parts a heuristic compares, and the
    accounts its profile names (only what the payload carried)."""
    return identity_from(
        platform=mention.platform,
        author_handle=mention.author_handle,
        author_display_name=mention.author_display_name,
        raw=mention.raw,
    )


def identity_from(
    *, platform: str, author_handle: str, author_display_name: str | None, raw: object
) -> Identity:
    """:func:`identity_of` from a mention's columns (a routing pass reads only these)."""
    payload = raw if isinstance(raw, dict) else {}
    author = _author_payload(platform, payload)
    handle = canonical(platform, author_handle)
    if platform == "mastodon" and "@" not in handle:
        # A local account's acct has no server; its profile URL does.
        match = _MASTODON_URL.match(str(author.get("url") or ""))
        if match:
            handle = f"{handle}@{match.group(1).lower()}"
    named = accounts_named(_profile_texts(platform, author))
    named.discard((platform, handle))
    return Identity(
        platform=platform,
        handle=handle,
        local=_local_part(platform, handle),
        display=_display_key(author_display_name),
        points_to=frozenset(named),
    )


def identity_keys(identity: Identity) -> list[tuple[str, object]]:
    """What :func:`same_person` can match ``identity`` on, as keys of an index: its account
    (named by another profile or the directory), the accounts its profile names, its
    handle's local part and its display name."""
    keys: list[tuple[str, object]] = [("account", identity.account)]
    keys += [("names", account) for account in sorted(identity.points_to)]
    if identity.local:
        keys.append(("local", identity.local))
    if identity.display:
        keys.append(("display", identity.display))
    return keys


def keys_to_look_up(
    identity: Identity, *, directory_accounts: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, object]]:
    """The index keys under which every account :func:`same_person` could pair with
    ``identity`` is filed (see :func:`identity_keys`): the accounts of its directory person,
    the accounts its profile names, the profiles that name it, its local part, its display
    name. A superset: :func:`same_person` still decides."""
    keys: list[tuple[str, object]] = [("names", identity.account)]
    keys += [("account", account) for account in sorted(identity.points_to)]
    keys += [("account", account) for account in directory_accounts]
    if identity.local:
        keys.append(("local", identity.local))
    if identity.display:
        keys.append(("display", identity.display))
    return keys


@dataclass(frozen=True)
class Evidence:
    """Why two accounts are taken for one person."""

    kind: str  # directory, profile, same_handle, same_display_name
    detail: str

    @property
    def known(self) -> bool:
        return self.kind in KNOWN


def same_person(
    a: Identity, b: Identity, *, directory: dict[tuple[str, str], int]
) -> Evidence | None:
    """The strongest evidence that ``a`` and ``b`` are one person, or None. Accounts the
    directory gives to two different people are never one person."""
    pa, pb = directory.get(a.account), directory.get(b.account)
    if pa is not None and pb is not None:
        if pa == pb:
            return Evidence("directory", f"both accounts belong to directory person {pa}")
        return None
    if b.account in a.points_to:
        return Evidence(
            "profile", f"{a.handle}'s {PLATFORM_NAMES[a.platform]} profile names {b.handle}"
        )
    if a.account in b.points_to:
        return Evidence(
            "profile", f"{b.handle}'s {PLATFORM_NAMES[b.platform]} profile names {a.handle}"
        )
    if a.local and a.local == b.local and not (a.display and b.display and a.display != b.display):
        # A shared handle with two different full names is two people ("coffee", "sam_k").
        return Evidence("same_handle", f"both handles read {a.local!r}")
    if a.display and a.display == b.display:
        return Evidence("same_display_name", f"both display names read {a.display!r}")
    return None
