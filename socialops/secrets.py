"""Keeping tokens out of everything a person or a log reads."""

from __future__ import annotations

import os
import re

from socialops.config import OrgConfig

_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\"]+")


def redact(text: str, config: OrgConfig | None = None) -> str:
    """Replace every configured channel token, and any bearer credential, with ``***``."""
    if config is not None:
        for channel in config.channels:
            value = os.environ.get(channel.token_env, "")
            if len(value) >= 4:
                text = text.replace(value, "***")
    return _BEARER.sub(r"\1***", text)
