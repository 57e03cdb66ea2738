"""Vietnamese text helpers: NFC everywhere, accent-insensitive matching, dd/mm/yyyy dates."""

from __future__ import annotations

import functools
import unicodedata
from datetime import date, datetime, timedelta, timezone

#: Vietnam time. The country has no daylight saving, so a fixed UTC+7 is exact and needs no tz database (Windows).
VN_TZ = timezone(timedelta(hours=7))
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def nfc(value: str) -> str:
    """Unicode NFC; ASCII (most codes and numbers) is already NFC and skips the normaliser (millions of cells)."""
    return value if value.isascii() else unicodedata.normalize("NFC", value)


def clean(value) -> str:
    """A cell's text as the user meant it: NFC, no surrounding or doubled whitespace."""
    return " ".join(nfc(str(value)).split())


@functools.lru_cache(maxsize=4096)      # the same answers ("Có", "Không", codes) fill every file of a batch
def fold(value: str) -> str:
    """Accent- and case-insensitive key: 'Xóm Đình' -> 'xom dinh' (đ is not a combining mark, so mapped by hand)."""
    decomposed = unicodedata.normalize("NFD", clean(value).replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def vn_date(value: date | datetime | None) -> str:
    """dd/mm/yyyy, the only date format shown to users."""
    return value.strftime("%d/%m/%Y") if value else ""


def safe_display_name(name) -> str:
    """A file or attachment name shown as text only: undecodable bytes replaced, NFC, control characters dropped."""
    if isinstance(name, bytes):
        name = name.decode("utf-8", errors="replace")
    text = nfc(str(name))
    return text if text.isprintable() else "".join(ch for ch in text if ch.isprintable())
