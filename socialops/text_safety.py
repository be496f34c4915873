"""Showing text that strangers wrote, without letting it drive the reader's terminal.

Anyone who can mention the brand chooses the bytes of a mention's text and display name, and a
platform chooses its error messages. Printed raw, C0 and C1 control characters in them are
terminal commands: ``ESC[31m`` recolours, ``ESC]0;...BEL`` retitles the window, an OSC 8
sequence plants a link that looks like plain text, ``CR`` overwrites what was printed before.

Stored text stays exactly as received; what is *shown* (CLI tables, notification bodies,
Prefect artifacts and logs, error messages) goes through :func:`neutralise`, which replaces
every control character except newline and tab with a visible stand-in. JSON lines keep the
text exact but escape the same characters (:func:`json_line`), so they are safe to print too.
"""

from __future__ import annotations

import json
import re
from typing import Any

# C0 (U+0000-U+001F) except tab and newline, DEL (U+007F) and C1 (U+0080-U+009F).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What json.dumps leaves raw: DEL and C1 (it already escapes C0 as \u00XX).
_JSON_RAW_CONTROL = re.compile(r"[\x7f-\x9f]")


def _stand_in(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # Unicode's control pictures: ESC shows as ␛, CR as ␍
    if code == 0x7F:
        return "\u2421"  # ␡
    return "\ufffd"  # C1 has no pictures: the replacement character


def neutralise(text: str) -> str:
    """``text`` with every C0/C1 control character other than newline and tab made visible.

    ``"\\x1b[31mred"`` becomes ``"␛[31mred"``: what was a command is now something to read.
    """
    if not _CONTROL.search(text):  # the common case costs one scan
        return text
    return _CONTROL.sub(_stand_in, text)


def is_safe(text: str) -> bool:
    """True when ``text`` has no control character other than newline and tab."""
    return _CONTROL.search(text) is None


def json_line(value: Any) -> str:
    """One JSON document on one line, safe to print: control characters are ``\\u`` escapes.

    Unlike :func:`neutralise` this loses nothing: a script that parses the line gets the text
    exactly as stored.
    """
    line = json.dumps(value, ensure_ascii=False)
    if _JSON_RAW_CONTROL.search(line):
        line = _JSON_RAW_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
    return line
