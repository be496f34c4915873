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

    @field_validator("token_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                "must be the NAME of an environment variable (e.g. SOCIALOPS_MASTODON_TOKEN), "
                "not a token: tokens never sit in files"
            )
        return value

    def token(self) -> SecretStr:
        """The channel's access token, from the environment. Raises ConfigError if unset."""
        value = os.environ.get(self.token_env, "")
        if not value:
            raise ConfigError(
                f"channel {self.name!r}: environment variable {self.token_env} is not set "
                f"(it must hold the {self.platform} access token)"
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


class Organisation(_Strict):
    """Who the brand is: what it is called and how people mention it."""

    name: str
    handles: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    timezone: str = "UTC"


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

    @model_validator(mode="after")
    def _references(self) -> OrgConfig:
        rota_models.raise_problems(
            "OrgConfig",
            rota_models.reference_problems(
                departments={str(key): value for key, value in self.departments.items()},
                people=self.people,
                holidays=self.holidays,
                rotas=self.rotas,
            )
            + signoff_policy.policy_problems(
                departments={str(key): value.sign_off for key, value in self.departments.items()},
                people=self.people,
            ),
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
