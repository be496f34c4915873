"""What people write to the brand: templated, slot-filled posts for every department, and people.

Everything here is a pure function of a ``random.Random`` handed in by the world, so the same
seed gives the same text. Posts are composed as the plain text a person types (with ``@handle``,
``#tag`` and URLs in it) and then rendered to HTML the way Mastodon's formatter does
(:func:`render_html`), so escaping, h-cards, hashtag anchors and shortened links are all real.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sandbox.content_slots import (
    ALLERGENS,
    DRINKS,
    FIRST,
    FOOD,
    FOREIGN_STORE,
    LAST,
    LOCAL_DRINKS,
    LOCAL_FOOD,
    MILKS,
    OUTLETS,
    PHONES,
    REMOTE_DOMAINS,
    ROLES,
    SLOTS,
    TAGS,
    TOPICS,
    WORDS,
)
from sandbox.content_templates import (
    CAMPAIGNS,
    EN,
    FOREIGN,
    NEUTRAL_SUFFIXES,
    SPOILERS,
    SUFFIXES,
    VISIBILITY,
)

KINDS: tuple[str, ...] = ("support", "praise", "press", "careers", "legal", "safety", "spam")
"""What a mention is about, i.e. which department should see it (never in the payload)."""

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt")

_KIND_WEIGHTS: tuple[float, ...] = (0.33, 0.27, 0.07, 0.08, 0.07, 0.06, 0.12)
_LANG_WEIGHTS: tuple[float, ...] = (0.84, 0.05, 0.04, 0.04, 0.03)


_A_AN = re.compile(r"\b([Aa]) (?=[aeioAEIO])")


@dataclass(frozen=True)
class Post:
    """A mention as its author typed it, before rendering.

    ``kind`` is the ground truth for tests and benchmarks; it never goes into a payload.
    ``language`` is what the author's client declared (``None`` sometimes, as in real life);
    ``text_language`` is what the text really is.
    """

    kind: str
    text_language: str
    language: str | None
    text: str
    spoiler_text: str
    visibility: str
    photos: tuple[str, ...]


@dataclass(frozen=True)
class Persona:
    """Someone who writes to the brand. ``domain`` is ``None`` for an account of the instance."""

    key: str
    username: str
    domain: str | None
    display_name: str
    note: str
    followers: int
    following: int
    statuses: int
    created_day: int
    """Days before 2026-01-01 the account was created."""
    bot: bool
    emoji: str | None
    """A custom emoji shortcode used in the display name (listed in ``account.emojis``)."""


class _Slots(dict[str, str]):
    """Lazily fills each slot once, so a slot used twice in a template reads the same."""

    def __init__(self, pools: Mapping[str, Callable[[], str]]) -> None:
        super().__init__()
        self.pools = pools

    def __missing__(self, key: str) -> str:
        value = self.pools[key]()
        self[key] = value
        return value


def _pick_weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random()
    for value, weight in options:
        roll -= weight
        if roll < 0:
            return value
    return options[-1][0]


def _link(rng: random.Random, kind: str, handle: str) -> str:
    token = "".join(
        rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(7)
    )
    return {
        "support": f"https://imgshare.example/a/{token}",
        "praise": f"https://www.brewblog.example/2026/{rng.randint(1, 12):02d}/"
        f"chain-coffee-ranked-{token.lower()}",
        "press": f"https://www.metrodaily.example/business/2026/{rng.randint(1, 12):02d}/"
        f"coffee-chains-under-pressure-{token.lower()}",
        "careers": f"https://careers.{handle.lower()}.example/jobs?location={token}&ref=social",
        "legal": f"https://www.register-of-designs.example/case/{token}",
        "safety": f"https://pastebin.example/raw/{token}",
        "spam": f"https://bit.example/{token}?utm_source=fedi&utm_campaign=promo",
    }[kind]


def compose(rng: random.Random, *, brand_name: str, brand_handle: str) -> Post:
    """A random post that mentions ``@brand_handle``: its kind, language, text and options."""
    kind = rng.choices(KINDS, weights=_KIND_WEIGHTS)[0]
    lang = rng.choices(LANGUAGES, weights=_LANG_WEIGHTS)[0]
    templates = FOREIGN.get(lang, {}).get(kind) if lang != "en" else None
    if not templates:
        lang = "en"
        templates = EN[kind]
    template = rng.choice(templates)
    photos: tuple[str, ...] = ()
    if template.startswith("📷"):
        template, alt = template[1:].strip().split("|", 1)
        photos = (alt,)
        if rng.random() < 0.25:
            photos = (alt, "A close-up of the same drink from above")
    writer = _Composer(rng, kind=kind, lang=lang, brand_name=brand_name, brand_handle=brand_handle)
    text = writer.finish(template.format_map(writer.slots))

    spoiler = ""
    spoilers = SPOILERS[kind]
    if spoilers and rng.random() < (0.2 if kind == "safety" else 0.06):
        spoiler = rng.choice(spoilers)
    visibility = _pick_weighted(rng, VISIBILITY[kind])
    declared: str | None = lang if rng.random() >= 0.04 else None
    return Post(
        kind=kind,
        text_language=lang,
        language=declared,
        text=text,
        spoiler_text=spoiler,
        visibility=visibility,
        photos=photos,
    )


class _Composer:
    """Fills one post's template: its slots draw from ``rng`` as the template names them."""

    def __init__(
        self, rng: random.Random, *, kind: str, lang: str, brand_name: str, brand_handle: str
    ) -> None:
        self.rng, self.kind, self.lang = rng, kind, lang
        self.brand_name, self.brand_handle = brand_name, brand_handle
        self.short = brand_name.split()[0] if brand_name.split() else brand_handle
        self.btag = re.sub(r"\W", "", brand_name) or brand_handle
        self.local = SLOTS[lang]
        self.slots = _Slots({})
        self.slots.pools = self.pools()

    def one_of(self, values: tuple[str, ...]) -> Callable[[], str]:
        return lambda: self.rng.choice(values)

    def street(self) -> str:
        return self.rng.choice(self.local["street"])

    def store(self) -> str:
        if self.lang != "en":
            return FOREIGN_STORE[self.lang].format(short=self.short, street=self.street())
        return self.rng.choice(
            (
                f"the {self.street()} store",
                f"{self.short} on {self.street()}",
                f"your {self.street()} location",
                f"the {self.slots['city']} {self.street()} shop",
                f"{self.brand_name} {self.street()}",
            )
        )

    def tags(self) -> str:
        rng, kind = self.rng, self.kind
        chosen = rng.sample(TAGS[kind], k=min(len(TAGS[kind]), rng.randint(1, 3)))
        return " ".join(t.format(short=self.short, btag=self.btag) for t in chosen)

    def pools(self) -> dict[str, Callable[[], str]]:
        rng, lang, local, one_of = self.rng, self.lang, self.local, self.one_of
        drinks = LOCAL_DRINKS.get(lang, DRINKS)
        return {
            "at": lambda: f"@{self.brand_handle}",
            "brand": lambda: rng.choice((self.brand_name, self.brand_name, self.short)),
            "short": lambda: self.short,
            "btag": lambda: self.btag,
            "drink": one_of(drinks),
            "drink2": one_of(drinks),
            "food": one_of(LOCAL_FOOD.get(lang, FOOD)),
            "milk": one_of(MILKS),
            "allergen": one_of(ALLERGENS),
            "phone": one_of(PHONES),
            "role": one_of(ROLES),
            "outlet": lambda: (
                rng.choice(OUTLETS) if lang == "en" else rng.choice(OUTLETS).removeprefix("the ")
            ),
            "topic": one_of(TOPICS),
            "staff": one_of(FIRST),
            "last": one_of(LAST),
            "city": one_of(local["city"]),
            "street": self.street,
            "store": self.store,
            "time": one_of(local["time"]),
            "price": one_of(local["price"]),
            "minutes": lambda: str(rng.randint(15, 55)),
            "days": lambda: str(rng.randint(6, 30)),
            "years": lambda: str(rng.randint(1, 6)),
            "order": lambda: str(rng.randint(10_000, 99_999)),
            "last4": lambda: f"{rng.randint(0, 9999):04d}",
            "points": lambda: str(rng.randint(120, 2400)),
            "app_version": lambda: f"4.{rng.randint(8, 14)}.{rng.randint(0, 3)}",
            "year": lambda: "2026",
            "deadline": one_of(("today at 5pm", "tomorrow morning", "by Friday", "tonight")),
            "campaign": one_of(CAMPAIGNS),
            "link": lambda: _link(rng, self.kind, self.brand_handle),
            "tags": self.tags,
        }

    def finish(self, text: str) -> str:
        """Openers and closers, suffixes, the handle where the template had none, hashtags."""
        rng, kind, lang, local = self.rng, self.kind, self.lang, self.local
        at = f"@{self.brand_handle}"
        if kind in ("support", "praise") and "\n" not in text:
            prefix = "" if kind == "support" else "praise_"
            opener = rng.choice(local[f"{prefix}opener"])
            closer = rng.choice(local[f"{prefix}closer"])
            if opener and text.startswith(f"{at} "):
                head = f"{at} "
                text = f"{head}{opener} {text[len(head) :]}"
            if closer:
                text = f"{text} {closer}"
        elif kind in SUFFIXES and "\n" not in text:
            suffix = rng.choice(SUFFIXES[kind] if lang == "en" else NEUTRAL_SUFFIXES)
            if suffix:
                text = f"{text} {suffix.format_map(self.slots)}"
        if lang == "en":
            text = _A_AN.sub(r"\1n ", text)
        if at not in text:
            text = f"{at} {text}" if rng.random() < 0.6 else f"{text} {at}"
        if kind not in ("spam",) and rng.random() < 0.12 and "#" not in text:
            text = f"{text}\n\n{self.tags()}"
        return text


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------

_EMOJI_NAMES = ("☕", "🌱", "🚲", "✨", "🏳️‍🌈", "🐈", "📷", "🎧", "🌻", "🧶")
_SHORTCODES = ("coffee_parrot", "verified", "blobcat", "mastodon", "flag_eu")
_NOTES = (
    "Coffee, code and cats.",
    "Opinions my own. He/him.",
    "Nurse. Runner. Caffeine-powered.",
    "Teacher in {city}. Books &amp; bikes.",
    "I take photos of things.",
    "Software person. Tea is fine too.",
    "Parent of two, survivor of mornings.",
    "Cyclist, birder, occasional baker.",
    "",
    "",
)
_JOURNALIST_NOTES = (
    "Food &amp; business reporter at {outlet}. DMs open, Signal on request.",
    "Retail correspondent, {outlet}. Tips welcome.",
    "Freelance journalist covering labour and hospitality.",
    "Producer, {outlet}. Views my own.",
)


def persona(rng: random.Random, *, population: str, index: int) -> Persona:
    """Someone from ``population`` ("public", "press" or "bots"), the same for the same rng."""
    first = rng.choice(FIRST)
    last = rng.choice(LAST)
    last_plain = re.sub(r"\W", "", last).lower()
    domain: str | None = None if rng.random() < 0.45 else rng.choice(REMOTE_DOMAINS)
    bot = False
    emoji: str | None = None
    if population == "bots":
        username = rng.choice(("deals", "promo", "growth", "crypto", "free", "airdrop", "bot"))
        username = f"{username}_{rng.choice(('hub', 'king', 'now', 'daily', 'x'))}{index}"
        display = rng.choice(("Best Deals 🔥", "Crypto News 🚀", "Follow4Follow", "", "Promo Bot"))
        note = "Automated account. DM for promos."
        followers = int(rng.paretovariate(1.5) * 3)
        bot = rng.random() < 0.6
    elif population == "press":
        outlet = rng.choice(OUTLETS)
        username = rng.choice(
            (f"{first}{last_plain}", f"{first[0]}{last_plain}", f"{first}_reports")
        )
        display = f"{first} {last} ({outlet.removeprefix('the ').removeprefix('The ')})"
        note = rng.choice(_JOURNALIST_NOTES).format(outlet=outlet)
        followers = int(10_000 + rng.paretovariate(1.1) * 4_000)
    else:
        username = rng.choice(
            (
                f"{first}{last_plain[:1]}",
                f"{first}_{last_plain}",
                f"{first}{rng.randint(1, 99)}",
                f"{rng.choice(WORDS)}",
                f"{first}_{rng.choice(WORDS)}",
                f"{rng.choice(WORDS)}{rng.randint(1, 999)}",
            )
        )
        style = rng.random()
        if style < 0.12:
            display = ""
        elif style < 0.3:
            display = f"{first} {rng.choice(_EMOJI_NAMES)}"
        elif style < 0.36:
            emoji = rng.choice(_SHORTCODES)
            display = f"{first} :{emoji}:"
        elif style < 0.6:
            display = first
        else:
            display = f"{first} {last}"
        note = rng.choice(_NOTES).format(city=rng.choice(SLOTS["en"]["city"]))
        note = f"<p>{note}</p>" if note else ""
        # Long-tailed: most have a few dozen followers, a handful are influencers.
        followers = int(rng.paretovariate(1.15) * 12) - 12
        if rng.random() < 0.01:
            followers += rng.randint(10_000, 120_000)
    if population in ("press", "bots"):
        note = f"<p>{note}</p>"
    username = re.sub(r"[^A-Za-z0-9_]", "", username.lower() if rng.random() < 0.7 else username)
    return Persona(
        key=f"{population}:{index}",
        username=username or f"user{index}",
        domain=domain,
        display_name=display,
        note=note,
        followers=max(0, min(followers, 900_000)) if not (domain and rng.random() < 0.15) else 0,
        following=int(rng.paretovariate(1.3) * 40),
        statuses=int(rng.paretovariate(0.9) * 50),
        created_day=rng.randint(20, 3000),
        bot=bot,
        emoji=emoji,
    )


# --------------------------------------------------------------------------------------------
# Rendering, as Mastodon's TextFormatter does it
# --------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<url>https?://[^\s<>\"]*[^\s<>\".,!?;:)\]'])"
    r"|(?<![\w/@])@(?P<user>[A-Za-z0-9_]+)(?:@(?P<domain>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+))?"
    r"|(?<![\w/#&])#(?P<tag>\w*[^\W\d_]\w*)"
)
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"})


def escape(text: str) -> str:
    """HTML-escape like Rails' ``html_escape`` (``'`` becomes ``&#39;``)."""
    return text.translate(_ESCAPES)


@dataclass(frozen=True)
class Rendered:
    """A post's HTML and the structured mentions and tags found while rendering it."""

    html: str
    mentions: tuple[tuple[str, str | None], ...]
    """(username, domain) of each linked mention, in order, without duplicates."""
    tags: tuple[str, ...]
    """Tag names as typed, in order, without case-insensitive duplicates."""


def _shortened_link(url: str) -> str:
    match = re.match(r"https?://(?:www\.)?", url)
    prefix = match.group(0) if match else ""
    display = url[len(prefix) :]
    if len(display) > 30:
        middle = f'<span class="ellipsis">{escape(display[:30])}</span>'
        rest = escape(display[30:])
    else:
        middle = f'<span class="">{escape(display)}</span>'
        rest = ""
    return (
        f'<a href="{escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{escape(prefix)}</span>{middle}'
        f'<span class="invisible">{rest}</span></a>'
    )


def render_html(
    text: str,
    *,
    local_domain: str,
    author_domain: str | None,
    linkable: Callable[[str, str | None], bool] | None = None,
) -> Rendered:
    """Render typed text to Mastodon status HTML.

    ``author_domain`` is ``None`` for a post written on ``local_domain`` (Mastodon's own markup,
    ``translate="no"`` h-cards); otherwise the markup is what Mastodon keeps of a remote post
    after sanitising (``rel="nofollow noopener" target="_blank"``). ``linkable(user, domain)``
    says whether a mention resolves to an account; unresolved ones stay plain text.
    """
    mentions: list[tuple[str, str | None]] = []
    tags: list[str] = []
    seen_tags: set[str] = set()
    home = author_domain or local_domain
    remote = author_domain is not None

    def render_line(line: str) -> str:
        out: list[str] = []
        pos = 0
        for match in _TOKEN_RE.finditer(line):
            out.append(escape(line[pos : match.start()]))
            pos = match.end()
            if match.group("url"):
                out.append(_shortened_link(match.group("url")))
            elif match.group("user"):
                user, domain = match.group("user"), match.group("domain")
                if linkable is not None and not linkable(user, domain):
                    out.append(escape(match.group(0)))
                    continue
                if (user, domain) not in mentions:
                    mentions.append((user, domain))
                href = f"https://{domain or local_domain}/@{user}"
                if remote:
                    out.append(
                        f'<span class="h-card"><a href="{href}" class="u-url mention" '
                        f'rel="nofollow noopener" target="_blank">@<span>{user}</span></a></span>'
                    )
                else:
                    out.append(
                        f'<span class="h-card" translate="no"><a href="{href}" '
                        f'class="u-url mention">@<span>{user}</span></a></span>'
                    )
            else:
                tag = match.group("tag")
                if tag.lower() not in seen_tags:
                    seen_tags.add(tag.lower())
                    tags.append(tag)
                href = f"https://{home}/tags/{tag}"
                if remote:
                    out.append(
                        f'<a href="{href}" class="mention hashtag" rel="nofollow noopener" '
                        f'target="_blank">#<span>{escape(tag)}</span></a>'
                    )
                else:
                    out.append(
                        f'<a href="{href}" class="mention hashtag" rel="tag">'
                        f"#<span>{escape(tag)}</span></a>"
                    )
        out.append(escape(line[pos:]))
        return "".join(out)

    paragraphs = [p for p in re.split(r"\n{2,}", text.strip()) if p.strip()]
    html = "".join(
        "<p>" + "<br />".join(render_line(line) for line in p.split("\n")) + "</p>"
        for p in paragraphs
    )
    return Rendered(html=html, mentions=tuple(mentions), tags=tuple(tags))
