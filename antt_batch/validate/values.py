"""Parse what people actually type into cells (spec §4): text numbers, Excel serials, "Có"/"x", "CODE - Nhãn", NFD.

Each parser returns the normalised value, or raises `ValueError` with the Vietnamese name of the expected type.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from antt_batch.text import clean

EXCEL_EPOCH = datetime(1899, 12, 30)
DATE_RE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
ISO_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T].*)?$")
EXAMPLES = {"int": "12", "decimal": "12,5", "date": "05/03/2025", "bool": "Có", "code": "chọn trong danh sách",
            "text": "chữ"}
EXPECTED_VI = {"int": "số nguyên", "decimal": "số", "date": "ngày (dd/mm/yyyy)", "bool": "Có/Không",
               "code": "mã trong danh sách", "text": "chữ"}


def is_blank(value) -> bool:
    return value is None or (isinstance(value, str) and not clean(value))


def parse_int(value) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return int(value)
        raise ValueError
    text = clean(value).replace(" ", "")
    if re.fullmatch(r"[+-]?\d{1,3}([.,]\d{3})+", text):      # 1.200 or 1,200: thousands separators
        text = re.sub(r"[.,]", "", text)
    return int(float(text.replace(",", "."))) if re.fullmatch(r"[+-]?\d+([.,]0+)?", text) else _fail()


def parse_decimal(value) -> float:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return float(value)
    text = clean(value).replace(" ", "")
    if "," in text and "." in text:                           # 1.234,5 (Vietnamese) or 1,234.5
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") else text.replace(",", "")
    return float(text.replace(",", "."))


def parse_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        if 1 <= value < 2958466:
            return (EXCEL_EPOCH + timedelta(days=int(value))).date()
        raise ValueError
    text = clean(value)
    if m := DATE_RE.match(text):
        return date(int(m[3]), int(m[2]), int(m[1]))
    if m := ISO_RE.match(text):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if re.fullmatch(r"\d+(\.0+)?", text):
        return parse_date(float(text))
    raise ValueError


def parse_bool(value) -> bool:
    from antt_batch.catalog import parse_bool as catalog_bool
    if isinstance(value, bool):
        return value
    result = catalog_bool(str(value))
    if result is None:
        raise ValueError
    return result


def _fail():
    raise ValueError


def parse(kind: str, value, codelist=None):
    """Normalise `value` of field type `kind`; `codelist` parses codes."""
    if kind == "int":
        return parse_int(value)
    if kind == "decimal":
        return parse_decimal(value)
    if kind == "date":
        return parse_date(value)
    if kind == "bool":
        return parse_bool(value)
    if kind == "code":
        code = codelist.parse(str(value))
        if code is None:
            raise LookupError
        return code
    return clean(value) if isinstance(value, str) else clean(_plain(value))


def _plain(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y")
    return str(value)
