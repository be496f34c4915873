"""The organisation YAML: channels, departments and (later) people, rotas and policies.

Loading validates everything with pydantic; an error names the file, the line, the key path
(``channels[1].token_env``) and what was expected, so a bad edit is fixed in one look.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from socialops.classification.rules import ClassificationConfig
from socialops.mentions import Platform
from socialops.rota import models as rota_models
from socialops.rota import references as rota_references
from socialops.signoff import policy as signoff_policy

_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class ConfigError(Exception):
    """A configuration file is missing, unreadable or invalid. The message is for people."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """One account on one platform that socialops watches (and later answers from)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)
    platform: Platform
    base_url: str = Field(pattern=r"^https?://")
    token_env: str
    enabled: bool = True
    page_size: int = Field(default=80, ge=1, le=80)
    backfill_hours: float = Field(
        default=48, gt=0, description="How far back the first run (or a backfill) reaches."
    )
    max_pages_per_run: int = Field(default=1000, ge=1)
    overlap_minutes: float = Field(
        default=10,
        ge=0,
        description="Each run re-reads this much (of item time) behind the newest position: "
        "servers can make an older id visible after newer ones. 0 turns it off.",
    )
    # Bluesky: the account that logs in (token_env holds its app password).
    identifier: str | None = Field(
        default=None, description="Bluesky: handle, email or DID of the account."
    )
    # Bluesky and Reddit: brand keywords searched besides the account's own notifications.
    search: list[str] = Field(default_factory=list, max_length=10)
    # Reddit: the OAuth app; token_env holds a refresh token, or the password with `username`.
    client_id: str | None = None
    client_secret_env: str | None = None
    username: str | None = None
    user_agent: str | None = None
    auth_url: str | None = Field(default=None, pattern=r"^https?://")
    subreddit: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$",
        description="Reddit: where planned posts go (the name without r/).",
    )
    # X: whose mentions (the numeric user id), and what a month may cost.
    user_id: str | None = Field(default=None, pattern=r"^[0-9]{1,20}$")
    monthly_read_budget: int | None = Field(
        default=None, ge=0, description="X: posts read per calendar month (UTC), at most."
    )
    monthly_write_budget: int | None = Field(
        default=None, ge=0, description="X: posts created per calendar month (UTC), at most."
    )

    @field_validator("token_env", "client_secret_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError(
                "must be the NAME of an environment variable (e.g. SOCIALOPS_MASTODON_TOKEN), "
                "not a token: tokens never sit in files"
            )
        return value

    @model_validator(mode="after")
    def _platform_fields(self) -> Channel:
        own = _PLATFORM_FIELDS[self.platform]
        misplaced = sorted(
            name
            for fields in _PLATFORM_FIELDS.values()
            for name in fields
            if name not in own and getattr(self, name) not in (None, [])
        )
        if misplaced:
            raise ValueError(f"{', '.join(misplaced)}: not used by a {self.platform} channel")
        missing = [name for name in _REQUIRED_FIELDS[self.platform] if not getattr(self, name)]
        if missing:
            raise ValueError(f"a {self.platform} channel needs {', '.join(missing)}")
        return self

    def token(self) -> SecretStr:
        """The channel's secret, from the environment. Raises ConfigError if unset or empty."""
        return _secret(self, self.token_env, _SECRET_NAMES[self.platform])

    def client_secret(self) -> SecretStr | None:
        """Reddit: the OAuth app's secret (``None`` for an installed app, which has none)."""
        if self.client_secret_env is None:
            return None
        return _secret(self, self.client_secret_env, "Reddit app secret")


_PLATFORM_FIELDS: dict[str, tuple[str, ...]] = {
    "mastodon": (),
    "bluesky": ("identifier", "search"),
    "reddit": (
        "search",
        "client_id",
        "client_secret_env",
        "username",
        "user_agent",
        "auth_url",
        "subreddit",
    ),
    "x": ("user_id", "monthly_read_budget", "monthly_write_budget"),
}
_REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "mastodon": (),
    "bluesky": ("identifier",),
    "reddit": ("client_id",),
    "x": ("user_id",),
}
_SECRET_NAMES = {
    "mastodon": "Mastodon access token",
    "bluesky": "Bluesky app password",
    "reddit": "Reddit refresh token (or, with username, the account password)",
    "x": "X bearer token",
}


def _secret(channel: Channel, env: str, what: str) -> SecretStr:
    value = os.environ.get(env, "")
    if not value.strip():
        state = "is set but empty" if env in os.environ else "is not set"
        raise ConfigError(
            f"channel {channel.name!r}: environment variable {env} {state} "
            f"(it must hold the {what})"
        )
    return SecretStr(value)


class Department(_Strict):
    """A team that owns a share of social media: its hours, SLAs, escalation and sign-off."""

    name: str
    description: str = ""
    timezone: rota_models.TimeZoneName | None = Field(
        default=None, description="Business hours are in this zone (default: the organisation's)."
    )
    business_hours: rota_models.WeeklyHours = Field(default_factory=dict)
    holidays: str | None = Field(default=None, description="A calendar name under `holidays:`.")
    sla: rota_models.Sla = rota_models.Sla()
    escalation: rota_models.EscalationChain = Field(
        default_factory=lambda: list(rota_models.DEFAULT_ESCALATION)
    )
    sign_off: signoff_policy.SignOff = signoff_policy.SignOff()
    notify_env: rota_models.EnvName | None = None
    quiet_out_of_hours: bool = Field(
        default=True,
        description="A normal (not urgent) item assigned while the department is closed is "
        "announced when it next opens, not at once (urgent items always notify at once).",
    )
    replies_across_platforms: Literal["each", "first", "none"] = Field(
        default="each",
        description="A conversation (one person, one issue, several platforms): draft a reply "
        "to each of its mentions, only to the first (the opener), or none across platforms "
        "(only the mentions on the opener's platform).",
    )


class Routing(_Strict):
    """How routing shares work out among the people on duty."""

    max_open_per_person: int = Field(
        default=25,
        ge=1,
        le=10_000,
        description="A department's queue gives a person items only while they hold fewer open "
        "items than this; the rest waits and is pulled as they close items (urgent items are "
        "never held back by it).",
    )


class Conversations(_Strict):
    """Linking the same person's mentions of the same issue across platforms (one
    conversation, one assignment). Thresholds are character n-gram cosines (README)."""

    enabled: bool = True
    window_hours: float = Field(
        default=72, gt=0, le=24 * 14, description="Mentions further apart are never linked."
    )
    known_person_similarity: float = Field(
        default=0.4,
        ge=0,
        le=1,
        description="Text similarity needed when the directory or a profile says it is the "
        "same person.",
    )
    heuristic_similarity: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Text similarity needed when only the handle or display name matches.",
    )

    @model_validator(mode="after")
    def _order(self) -> Conversations:
        if self.heuristic_similarity < self.known_person_similarity:
            raise ValueError(
                "heuristic_similarity must be at least known_person_similarity (a guess at "
                "who someone is needs more textual evidence, not less)"
            )
        return self


class Organisation(_Strict):
    """Who the brand is: what it is called and how people mention it."""

    name: str
    handles: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    timezone: str = "UTC"


class Reports(_Strict):
    """The weekly report: who receives its summary, and how it links to the full report."""

    recipients: list[rota_models.Handle] = Field(
        default_factory=list, description="People (by handle) sent the summary every week."
    )
    notify_env: rota_models.EnvName | None = Field(
        default=None,
        description="Also send to the Apprise URL(s) in this variable (a team channel, a list).",
    )
    link_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where $SOCIALOPS_HOME/reports/ is published; the summary links there.",
    )
    notable_mentions: int = Field(default=10, ge=0, le=100)

    @field_validator("recipients")
    @classmethod
    def _unique(cls, recipients: list[str]) -> list[str]:
        twice = sorted({r for r in recipients if recipients.count(r) > 1})
        if twice:
            raise ValueError(f"named more than once: {', '.join(twice)}")
        return recipients


DepartmentId = Literal[
    "customer_relations", "marketing", "public_relations", "hr", "legal", "triage"
]


class OrgConfig(_Strict):
    """The whole organisation file."""

    organisation: Organisation
    channels: list[Channel] = Field(default_factory=list)
    departments: dict[DepartmentId, Department] = Field(default_factory=dict)
    classification: ClassificationConfig = Field(default_factory=ClassificationConfig)
    people: list[rota_models.Person] = Field(default_factory=list)
    holidays: dict[str, list[rota_models.Holiday]] = Field(default_factory=dict)
    rotas: rota_models.Rotas | None = None
    notifications: rota_models.Notifications = rota_models.Notifications()
    reports: Reports = Reports()
    routing: Routing = Routing()
    conversations: Conversations = Conversations()

    @model_validator(mode="after")
    def _references(self) -> OrgConfig:
        handles = {p.handle for p in self.people}
        rota_references.raise_problems(
            "OrgConfig",
            [
                *rota_references.reference_problems(
                    departments={str(key): value for key, value in self.departments.items()},
                    people=self.people,
                    holidays=self.holidays,
                    rotas=self.rotas,
                ),
                *signoff_policy.policy_problems(
                    departments={
                        str(key): value.sign_off for key, value in self.departments.items()
                    },
                    people=self.people,
                ),
                *(
                    (("reports", "recipients", i), f"no person with handle {h!r}", h)
                    for i, h in enumerate(self.reports.recipients)
                    if h not in handles
                ),
            ],
        )
        return self

    def person(self, handle: str) -> rota_models.Person:
        for person in self.people:
            if person.handle == handle:
                return person
        raise ConfigError(f"no person with handle {handle!r}")

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, channels: list[Channel]) -> list[Channel]:
        seen: set[str] = set()
        for channel in channels:
            if channel.name in seen:
                raise ValueError(f"channel name {channel.name!r} is used twice")
            seen.add(channel.name)
        return channels

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none"
        raise ConfigError(f"no channel named {name!r} (configured: {known})")


class _ChannelsFile(_Strict):
    channels: list[Channel]


@dataclass(frozen=True)
class _Source:
    path: Path
    data: Any
    root: yaml.Node | None


def _read(path: Path) -> _Source:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {exc.problem}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping at the top level")
    return _Source(path=path, data=data, root=root)


def _line_of(root: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of the deepest key or item that ``loc`` reaches in the YAML."""
    node = root
    line = node.start_mark.line + 1 if node else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if getattr(k, "value", None) == part), None)
            if pair is None:
                return line  # a missing key: the line of the mapping that should hold it
            node, line = pair[1], pair[0].start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                return line
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _explain(source: _Source, exc: ValidationError) -> ConfigError:
    lines = []
    for error in exc.errors():
        loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and "[" in p))
        line = _line_of(source.root, loc)
        where = f"{source.path}:{line}" if line else str(source.path)
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key" + (
                " (tokens never sit in files: name an environment variable in token_env)"
                if str(loc[-1]).lower() in {"token", "access_token", "password", "secret"}
                else ""
            )
        elif error["type"] == "missing":
            message = "required key is missing"
        got = error.get("input")
        detail = "" if error["type"] in {"missing", "extra_forbidden"} else f" (got {got!r})"
        if isinstance(got, dict | list):
            detail = ""
        lines.append(f"{where}: {_path(loc)}: {message}{detail}")
    return ConfigError("invalid configuration:\n  " + "\n  ".join(lines))


def load_config(path: Path, *, channels_path: Path | None = None) -> OrgConfig:
    """Load and validate the organisation file, with an optional channels override file."""
    source = _read(path)
    try:
        config = OrgConfig.model_validate(source.data)
    except ValidationError as exc:
        raise _explain(source, exc) from None
    if channels_path is None:
        return config
    override = _read(channels_path)
    try:
        channels = _ChannelsFile.model_validate(override.data).channels
        return OrgConfig.model_validate({**config.model_dump(), "channels": channels})
    except ValidationError as exc:
        raise _explain(override, exc) from None
