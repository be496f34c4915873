"""The one settings object. Read through :func:`get_settings`, never at import time."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config" / "northwind.yaml"


class Settings(BaseSettings):
    """Process-level settings from ``SOCIALOPS_*`` environment variables.

    Business configuration (channels, departments, people...) lives in the organisation YAML
    named by ``config``; tokens live in the environment variables the channels name.
    """

    model_config = SettingsConfigDict(env_prefix="SOCIALOPS_", extra="ignore")

    home: Path = Field(
        default=Path(".socialops"),
        description="Working folder for the default SQLite database and demo state.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL. Default: a SQLite file socialops.db under `home`.",
    )
    config: Path = Field(default=DEFAULT_CONFIG, description="The organisation YAML.")
    channels: Path | None = Field(
        default=None,
        description="Optional YAML whose `channels:` list replaces the organisation's.",
    )
    ingest_batch_size: int = Field(
        default=5_000, ge=1, description="Mentions validated and stored per transaction."
    )
    clock_skew_seconds: int = Field(
        default=300, ge=0, description="How far in the future a created_at may be."
    )
    max_text_length: int = Field(default=20_000, ge=1)
    rate_limit_max_wait_seconds: float = Field(
        default=120.0, ge=0, description="Longest in-place wait for a platform's quota reset."
    )
    http_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a platform request may take to answer."
    )

    auto_migrate: bool = Field(
        default=True,
        description="Bring the schema up to date on a process's first session (under a lock); "
        "false: fail with one line naming `socialops db upgrade` instead.",
    )

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'socialops.db').as_posix()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Forget the cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
