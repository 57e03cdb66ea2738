"""Intake (spec §5, §8, §9): turn what the operator dropped into the inbox into candidate files, reading only.

Folders are walked recursively in sorted order; a folder with `cur/` and `new/` is a Maildir; `.eml` is one
message; `.mbox` is a mailbox (a file without the leading "From " line is read as one message); every other file is
a candidate as is, whatever its extension, so the container gate can refuse it with a located error instead of it
vanishing. Only obvious OS junk is skipped: Thumbs.db, ehthumbs.db, desktop.ini, .DS_Store, macOS `._*` resource
forks and `__MACOSX/`, Office `~$*` and LibreOffice `.~lock.*` lock files, Windows `*:Zone.Identifier` streams,
recycle-bin and index folders, and mail-server bookkeeping files beside a Maildir's `cur/new/tmp`. Symlinked
folders met while walking are not followed (no loops); special files (FIFOs, devices) are skipped.

Nothing is ever written, moved or deleted, and each file is read once (an mbox is streamed message by message).
`received` is the e-mail's `Date:` header in Vietnam time; without a usable `Date:` it is the modification time of
the file that holds the message (the .eml, the .mbox, the Maildir message), as for loose files (spec §7 item 4).
A `Date:` without a zone (`-0000`) is taken as UTC. Vietnam has no daylight saving, so a fixed UTC+7 is exact and
needs no tz database on Windows.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator

from .errors import Location, Problem, problem
from .text import VN_TZ, nfc, safe_display_name

if TYPE_CHECKING:           # the e-mail package is imported only when a message is met (~9 ms a run otherwise)
    from email.message import EmailMessage

NAME_LIMIT = 150            # UTF-8 bytes of a stored name: well under every file system's 255
LABEL_LIMIT = 200           # characters of one name shown to users
UNREADABLE = "unreadable-file"

_JUNK_FILES = frozenset({"thumbs.db", "ehthumbs.db", "desktop.ini", ".ds_store", ".localized"})
_JUNK_PREFIXES = ("~$", "._", ".~lock.")
_JUNK_DIRS = frozenset({"__macosx", "$recycle.bin", "system volume information", ".trashes", ".spotlight-v100",
                        ".fseventsd", ".temporaryitems"})
# A message must carry at least one of these to be a message; the parser itself accepts any bytes at all.
_MESSAGE_HEADERS = frozenset({"from", "date", "subject", "message-id", "to", "cc", "sender", "reply-to",
                              "content-type", "mime-version", "received", "return-path"})
# Signatures are part of the e-mail, not submissions (Vietnamese agencies often sign with a VNPT-CA certificate).
_SIGNATURES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"})
_EXTENSIONS = {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx", "text/csv": ".csv",
               "application/vnd.ms-excel": ".xls", "application/pdf": ".pdf", "application/zip": ".zip"}
_RESERVED = re.compile(r"(con|prn|aux|nul|com\d|lpt\d|conin\$|conout\$)(\..*)?", re.IGNORECASE)
_FORBIDDEN = str.maketrans({ch: "_" for ch in '<>:"|?*\ufffd'})
_MAILDIR_INFO = re.compile(r"[:!;][12],[^/\\]*$")
# ASCII letters, digits, '_', '-' and single inner dots, not starting or ending with a dot, ≤ 100 characters
_PLAIN_NAME = re.compile(r"(?!.*\.\.)[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}(?<!\.)")


@dataclass(frozen=True)
class Incoming:
    """One candidate file as received: raw bytes plus where it came from (spec §5 ledger fields)."""

    data: bytes = field(repr=False)
    display: str        # shown to users: 'sub/file.xlsx', 'message.eml › att.xlsx', 'box.mbox › #3 › att.xlsx'
    source: str         # stable identity: re-running over the same inbox yields the same sources (idempotence)
    name: str           # safe base name for a stored copy; never a path
    sender: str | None  # From: address, lower-case; None for loose files
    received: datetime  # Date: header else file mtime, in UTC+7
    sha256: str


def collect(paths: Iterable[Path], root: Path | None = None) -> tuple[list[Incoming], list[Problem]]:
    """Every candidate under `paths` and the problems met on the way; see `iter_collect`."""
    items = list(iter_collect(paths, root))
    return [i for i in items if isinstance(i, Incoming)], [p for p in items if isinstance(p, Problem)]


def iter_collect(paths: Iterable[Path], root: Path | None = None) -> Iterator[Incoming | Problem]:
    """Stream the candidates, so a province-sized inbox need not sit in memory at once.

    Sources and displays are relative to `root`; without it, to each folder argument itself (or to the parent of a
    file or Maildir argument), so `ingest inbox/2025-03` and `run --inbox inbox/2025-03` agree. A path outside
    `root` keeps its absolute path. A file reached twice (a folder and a file in it both given) is read once.
    """
    seen: set[str] = set()
    for arg in map(Path, paths):
        base = Path(root) if root is not None else arg if arg.is_dir() and not _is_maildir(arg) else arg.parent
        yield from _visit(arg, base, seen)


def safe_name(name: str) -> str:
    """A base name that is safe to create on Windows, macOS and Linux; '' when nothing usable is left.

    Keeps only the last path component (`..`, `/`, `\\`, `C:` and absolute paths are how a crafted attachment
    escapes a folder), decodes stray bytes, applies NFC, drops control and format characters (including the
    right-to-left override used to disguise extensions), replaces characters Windows forbids, trims dots and
    spaces, defuses device names (CON, NUL, ...) and caps the length while keeping the extension.
    """
    if _PLAIN_NAME.fullmatch(name) and not _RESERVED.fullmatch(name):
        return name                      # the usual 'XOM01_2025-03.xlsx': nothing below would change it
    return _sanitized(name)


def _sanitized(name: str) -> str:
    parts = [p for p in re.split(r"[\\/]", nfc(_undo_surrogates(name))) if p.strip()]
    name = re.sub(r"\s", " ", parts[-1]) if parts else ""
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").translate(_FORBIDDEN).strip(" .")
    if _RESERVED.fullmatch(name):
        name = "_" + name
    stem, ext = os.path.splitext(name)
    if len(ext) > 16:
        stem, ext = name, ""
    while stem and len((stem + ext).encode("utf-8")) > NAME_LIMIT:
        stem = stem[:-1]
    return nfc((stem.rstrip(" .") + ext).strip(" ."))


# --- files and folders -------------------------------------------------------------------------------------------

def _visit(path: Path, base: Path, seen: set[str], real: str | None = None) -> Iterator[Incoming | Problem]:
    """`real`: the path's resolved form when the caller knows it (an entry, not a symlink, of a resolved folder)."""
    if _is_junk(path.name):
        return
    rel = _relative(path, base)
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        yield _unreadable(rel, exc)
        return
    if stat.S_ISDIR(mode):
        if _is_maildir(path):
            yield from _maildir(path, rel, base, seen)
            return
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError as exc:
            yield _unreadable(rel, exc)
            return
        folder = os.path.realpath(path)
        for entry in entries:
            link = entry.is_symlink()
            if not (link and entry.is_dir()):
                yield from _visit(Path(entry.path), base, seen, None if link else os.path.join(folder, entry.name))
    elif stat.S_ISREG(mode) and _first_time(path, seen, real):
        yield from _file(path, rel)


def _file(path: Path, rel: str) -> Iterator[Incoming | Problem]:
    suffix = path.suffix.lower()
    if suffix == ".mbox":
        yield from _mbox(path, rel)
        return
    try:
        data, mtime = _read(path)
    except OSError as exc:
        yield _unreadable(rel, exc)
        return
    if suffix == ".eml":
        yield from _message(_parse(data), _show(rel), rel, "1", mtime)
    else:
        yield Incoming(data, _show(rel), _ident(rel), safe_name(path.name) or "tep", None, mtime,
                       hashlib.sha256(data).hexdigest())


def _mbox(path: Path, rel: str) -> Iterator[Incoming | Problem]:
    """Stream an mbox: memory holds one message, the file is read once and opened read-only (not via `mailbox`,
    which opens it for writing). A "From " line separates messages only at the start or after a blank line, so an
    unescaped "From " in a body does not split a message."""
    from email import policy
    from email.parser import BytesFeedParser
    ids: set[str] = set()
    count, parser, blank = 0, None, True
    try:
        with open(path, "rb") as fh:
            mtime = _mtime(os.fstat(fh.fileno()))
            for line in fh:
                separator, blank = blank and line.startswith(b"From "), not line.strip()
                if parser is None and blank:
                    continue
                if separator or parser is None:
                    if parser is not None:
                        yield from _message(parser.close(), f"{_show(rel)} › #{count}", rel, count, mtime, ids)
                    count, parser = count + 1, BytesFeedParser(policy=policy.default)
                    if separator:
                        continue
                parser.feed(line)
            if parser is not None:
                yield from _message(parser.close(), f"{_show(rel)} › #{count}", rel, count, mtime, ids)
    except OSError as exc:
        yield _unreadable(rel, exc)
        return
    if count == 0:
        yield problem("malformed-message", Location(file=_show(rel)), detail="tệp hộp thư rỗng")


def _maildir(path: Path, rel: str, base: Path, seen: set[str]) -> Iterator[Incoming | Problem]:
    """Messages of `new/` and `cur/` ordered by their unique name (flags stripped, so reading a message in a mail
    client, which moves it to `cur/` and adds ':2,S', keeps its identity); `tmp/` holds deliveries in progress.
    Sub-folders (Maildir++ `.Folder`) are walked like any folder; loose files at the root are server bookkeeping."""
    messages = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(path / sub))
        except OSError as exc:
            yield _unreadable(f"{rel}/{sub}", exc)
            continue
        messages += [(_MAILDIR_INFO.sub("", e.name), Path(e.path)) for e in entries
                     if not e.name.startswith(".") and e.is_file()]
    ids: set[str] = set()
    for index, (key, file) in enumerate(sorted(messages), 1):
        if not _first_time(file, seen):
            continue
        try:
            data, mtime = _read(file)
        except OSError as exc:
            yield _unreadable(f"{rel}/{file.parent.name}/{file.name}", exc)
            continue
        yield from _message(_parse(data), f"{_show(rel)} › #{index}", rel, _ident(key), mtime, ids)
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as exc:
        yield _unreadable(rel, exc)
        return
    for entry in entries:
        if entry.name not in ("cur", "new", "tmp") and entry.is_dir() and not entry.is_symlink():
            yield from _visit(Path(entry.path), base, seen)


# --- messages ----------------------------------------------------------------------------------------------------

def _parse(data: bytes) -> EmailMessage:
    from email import policy
    from email.parser import BytesParser
    return BytesParser(policy=policy.default).parsebytes(data)


def _truncated(msg: EmailMessage) -> bool:
    """A MIME structure cut off (a truncated save): its boundaries are missing."""
    from email import errors
    cut = (errors.StartBoundaryNotFoundDefect, errors.CloseBoundaryNotFoundDefect,
           errors.MultipartInvariantViolationDefect)
    return any(isinstance(d, cut) for part in msg.walk() for d in part.defects)


def _message(msg: EmailMessage, where: str, container: str, fallback_key, mtime: datetime,
             ids: set[str] | None = None) -> Iterator[Incoming | Problem]:
    """The attachments of one parsed message; `where` is its display, `fallback_key` its index in the container.

    The stdlib parser never fails: it turns binary garbage into a body without headers. So a message is malformed
    when it has none of the usual headers, or when its MIME structure is cut off (a truncated save); in the latter
    case the attachments still readable are kept, each checked on its own downstream.
    """
    if not {k.lower() for k in msg.keys()} & _MESSAGE_HEADERS:
        yield problem("malformed-message", Location(file=where), detail="không có phần tiêu đề của thư")
        return
    try:
        key = _message_id(msg)
        if not key or ids is not None and key in ids:
            key = str(fallback_key)
        if ids is not None:
            ids.add(key)
        sender, received = _sender(msg), _date(msg) or mtime
        truncated = _truncated(msg)
        parts = list(_attachments(msg))
    except Exception as exc:  # a header or structure the parser chokes on lazily: this message only
        yield problem("malformed-message", Location(file=where), detail=f"{type(exc).__name__}: {exc}")
        return
    if truncated:
        yield problem("malformed-message", Location(file=where),
                      detail="thư bị cắt cụt, thiếu ranh giới MIME; đã lấy các tệp đính kèm còn đọc được")
    elif not parts:
        yield problem("no-attachment", Location(file=where))
    used: set[str] = set()
    for index, part in enumerate(parts, 1):
        try:
            raw = part.get_filename()
            data = part.get_payload(decode=True) or b""
        except Exception as exc:
            yield problem("malformed-message", Location(file=where),
                          detail=f"tệp đính kèm thứ {index}: {type(exc).__name__}: {exc}")
            continue
        received_name = _undo_surrogates(raw) if raw and raw.strip() else ""
        name = safe_name(received_name) if received_name else ""
        unsafe = bool(received_name) and name != received_name
        name = name or f"tep-dinh-kem-{index}{_EXTENSIONS.get(part.get_content_type(), '.bin')}"
        label = _label(received_name) if received_name else name
        name, copy = _unique(name, used)
        display = f"{where} › {label}" + (f" ({copy})" if copy > 1 else "")
        if unsafe:
            yield problem("unsafe-attachment-name", Location(file=display), detail=_label(received_name), value=name)
        yield Incoming(data, display, f"{_ident(container)}#{key}#{index}", name, sender, received,
                       hashlib.sha256(data).hexdigest())


def _attachments(part: EmailMessage, parent: str = "") -> Iterator[EmailMessage]:
    """Leaf parts that are files. Forwarded messages are searched too; bodies, inline images (also any image of
    the HTML body's multipart/related) and signatures are not files. Apple Mail marks real attachments 'inline',
    so a named inline part other than an image counts."""
    ctype = part.get_content_type()
    if part.is_multipart():
        for sub in part.get_payload():
            yield from _attachments(sub, ctype)
        return
    disposition = part.get_content_disposition()
    named = bool((part.get_filename() or "").strip())
    if ctype in _SIGNATURES:
        return
    if ctype.startswith("image/") and (disposition == "inline" or parent == "multipart/related"
                                       or disposition is None and part.get("Content-ID")):
        return
    if disposition == "attachment" or named:
        yield part
    elif not ctype.startswith(("text/", "message/", "multipart/")):
        yield part   # an unnamed binary part is still a file somebody sent


def _message_id(msg: EmailMessage) -> str:
    value = _undo_surrogates(str(msg.get("Message-ID") or ""))
    return "".join(ch for ch in value if ch.isprintable() and not ch.isspace())[:250]


def _sender(msg: EmailMessage) -> str | None:
    try:
        addresses = msg["From"].addresses if msg["From"] is not None else ()
        addr = next((a.addr_spec for a in addresses if "@" in a.addr_spec), None)
    except Exception:
        return None
    return _undo_surrogates(addr).strip().lower() if addr else None


def _date(msg: EmailMessage) -> datetime | None:
    from email.utils import parsedate_to_datetime
    value = msg.get("Date")
    if value is None:
        return None
    try:
        when = parsedate_to_datetime(str(value))
        if when.tzinfo is None:  # '-0000': the zone is unknown, the clock is UTC
            when = when.replace(tzinfo=timezone.utc)
        return when.astimezone(VN_TZ)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


# --- small helpers -----------------------------------------------------------------------------------------------

def _read(path: Path) -> tuple[bytes, datetime]:
    """Bytes and mtime from one open handle, so they describe the same file."""
    with open(path, "rb") as fh:
        return fh.read(), _mtime(os.fstat(fh.fileno()))


def _mtime(st: os.stat_result) -> datetime:
    return datetime.fromtimestamp(st.st_mtime, VN_TZ)


def _is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def _is_junk(name: str) -> bool:
    folded = name.casefold()
    return (folded in _JUNK_FILES or folded in _JUNK_DIRS or folded.startswith(_JUNK_PREFIXES)
            or folded.endswith(":zone.identifier"))


def _first_time(path: Path, seen: set[str], real: str | None = None) -> bool:
    real = real or os.path.realpath(path)
    fresh = real not in seen
    seen.add(real)
    return fresh


def _relative(path: Path, base: Path) -> str:
    """POSIX path of `path` relative to `base` (absolute when outside it); a folder given as itself keeps its name."""
    absolute = Path(os.path.abspath(path))
    try:
        rel = absolute.relative_to(os.path.abspath(base)).as_posix()
    except ValueError:
        return absolute.as_posix()
    return absolute.name if rel == "." else rel


def _undo_surrogates(text: str) -> str:
    """Bytes the decoder could not map (raw 8-bit headers, non-UTF-8 file names on Linux) back to text: UTF-8 if
    they are UTF-8 (the usual raw Vietnamese header), else U+FFFD."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        raw = text.encode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _ident(text) -> str:
    """Identity text that SQLite can store: raw file-name bytes that are not UTF-8 become '\\xe9' escapes."""
    return os.fsencode(str(text)).decode("utf-8", "backslashreplace")


def _show(rel: str) -> str:
    return safe_display_name(os.fsencode(rel))


def _label(name: str) -> str:
    shown = safe_display_name(name)
    return shown if len(shown) <= LABEL_LIMIT else shown[:LABEL_LIMIT - 1] + "…"


def _unique(name: str, used: set[str]) -> tuple[str, int]:
    """`name`, or 'name (2).xlsx', ... so two attachments of one message never share a stored name (case-blind,
    as on Windows)."""
    stem, ext = os.path.splitext(name)
    copy, candidate = 1, name
    while candidate.casefold() in used:
        copy += 1
        candidate = f"{stem} ({copy}){ext}"
    used.add(candidate.casefold())
    return candidate, copy


def _unreadable(rel: str, exc: OSError) -> Problem:
    reason = {FileNotFoundError: "không tìm thấy", PermissionError: "không có quyền đọc"}.get(type(exc))
    return problem(UNREADABLE, Location(file=_show(rel)), detail=reason or f"lỗi hệ thống: {exc.strerror or exc}")
