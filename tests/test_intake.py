"""Intake over real files built in tmp_path with the stdlib email/mailbox packages (no mocks)."""

from __future__ import annotations

import base64
import hashlib
import io
import mailbox
import os
import sys
import unicodedata
import zipfile
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from antt_batch.intake import VN_TZ, Incoming, collect, safe_name

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
VN_NAME = "Báo cáo Xóm Đình tháng 3.xlsx"


def small_zip(tag: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("xl/workbook.xml", (2025, 3, 1, 0, 0, 0)), f"<workbook>{tag}</workbook>")
    return buf.getvalue()


def message(*attachments: tuple[str, bytes], sender="Trưởng xóm <TruongXom1@Example.VN>",
            date="Mon, 03 Mar 2025 20:30:00 -0500", msgid: str | None = "<m1@example.vn>",
            body="Kính gửi Công an xã, gửi kèm báo cáo.") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "congan.phudinh@example.vn"
    msg["Subject"] = "Báo cáo ANTT tháng 3"
    if date:
        msg["Date"] = date
    if msgid:
        msg["Message-ID"] = msgid
    msg.set_content(body)
    for name, data in attachments:
        msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=name)
    return msg


def rfc2047(name: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(name.encode("utf-8")).decode("ascii") + "?="


def eml_two_attachments_and_inline_image() -> bytes:
    """Outlook style: RFC 2047 in a quoted filename, a plain attachment, an inline logo in multipart/related."""
    msg = message(("PLACEHOLDER.xlsx", small_zip("vn")), ("XOM02_2025-03.xlsx", small_zip("two")))
    body = msg.get_body(("html", "plain"))
    body.add_alternative("<p>Kính gửi <img src='cid:logo@x'></p>", subtype="html")
    msg.get_body(("html",)).add_related(b"\x89PNG\r\n\x1a\nlogo", "image", "png", cid="<logo@x>",
                                        filename="logo.png", disposition="inline")
    raw = msg.as_bytes(policy=default_policy)
    assert raw.count(b'filename="PLACEHOLDER.xlsx"') == 1
    return raw.replace(b'filename="PLACEHOLDER.xlsx"', f'filename="{rfc2047(VN_NAME)}"'.encode("ascii"))


def snapshot(root: Path) -> dict[bytes, tuple[bytes | None, int]]:
    """Every path under root with its bytes and mtime, so a test can prove intake wrote and changed nothing."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames:
            found[os.path.join(dirpath, name)] = (None, 0)
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                found[path] = (fh.read(), os.stat(path).st_mtime_ns)
    return found


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    """A month's inbox mixing everything an operator may drop into it."""
    box = tmp_path / "inbox"
    (box / "xom").mkdir(parents=True)
    (box / "XOM01_2025-03.xlsx").write_bytes(small_zip("loose"))
    (box / "xom" / "XOM03_2025-03.xlsx").write_bytes(small_zip("sub"))
    (box / "cu.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1legacy")
    (box / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    (box / "bang.csv").write_bytes("mã,tên\n".encode())
    (box / "thu.eml").write_bytes(eml_two_attachments_and_inline_image())
    (box / "traversal.eml").write_bytes(message(("../../etc/x.xlsx", small_zip("t1")),
                                                ("C:\\x\\y.xlsx", small_zip("t2")),
                                                msgid="<m2@example.vn>").as_bytes())
    (box / "khong-dinh-kem.eml").write_bytes(message(msgid="<m3@example.vn>").as_bytes())
    (box / "rac.eml").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe garbage")
    for junk in ("Thumbs.db", "desktop.ini", ".DS_Store", "~$XOM01_2025-03.xlsx", "._XOM01_2025-03.xlsx",
                 ".~lock.XOM01_2025-03.xlsx#"):
        (box / junk).write_bytes(b"junk")
    (box / "__MACOSX").mkdir()
    (box / "__MACOSX" / "XOM01_2025-03.xlsx").write_bytes(b"resource fork")
    return box


def by_display(items: list[Incoming]) -> dict[str, Incoming]:
    return {i.display: i for i in items}


def test_mixed_inbox(inbox: Path, tmp_path: Path):
    before = snapshot(tmp_path)
    incoming, problems = collect([inbox])
    assert snapshot(tmp_path) == before          # nothing written, moved, touched or created

    found = by_display(incoming)
    assert sorted(found) == sorted([
        "XOM01_2025-03.xlsx", "bang.csv", "cu.xls", "scan.pdf", "xom/XOM03_2025-03.xlsx",
        f"thu.eml › {VN_NAME}", "thu.eml › XOM02_2025-03.xlsx",
        "traversal.eml › ../../etc/x.xlsx", "traversal.eml › C:\\x\\y.xlsx",
    ])  # junk skipped, inline image ignored, other formats kept for the container gate to refuse
    loose = found["XOM01_2025-03.xlsx"]
    assert loose.data == small_zip("loose") and loose.sender is None and loose.source == "XOM01_2025-03.xlsx"
    assert loose.received == datetime.fromtimestamp((inbox / "XOM01_2025-03.xlsx").stat().st_mtime, VN_TZ)
    assert found["xom/XOM03_2025-03.xlsx"].name == "XOM03_2025-03.xlsx"

    vn = found[f"thu.eml › {VN_NAME}"]
    assert vn.name == VN_NAME and vn.data == small_zip("vn") and vn.sender == "truongxom1@example.vn"
    assert vn.received == datetime(2025, 3, 4, 8, 30, tzinfo=VN_TZ)    # 20:30 -05:00 is 08:30 next day in UTC+7
    assert vn.received.utcoffset() == timedelta(hours=7)
    assert vn.source == "thu.eml#<m1@example.vn>#1"
    assert found["thu.eml › XOM02_2025-03.xlsx"].source == "thu.eml#<m1@example.vn>#2"
    assert vn.sha256 == hashlib.sha256(small_zip("vn")).hexdigest()

    assert found["traversal.eml › ../../etc/x.xlsx"].name == "x.xlsx"
    assert found["traversal.eml › C:\\x\\y.xlsx"].name == "y.xlsx"
    codes = sorted((p.code, p.location.file) for p in problems)
    assert codes == [
        ("malformed-message", "rac.eml"), ("no-attachment", "khong-dinh-kem.eml"),
        ("unsafe-attachment-name", "traversal.eml › ../../etc/x.xlsx"),
        ("unsafe-attachment-name", "traversal.eml › C:\\x\\y.xlsx"),
    ]
    unsafe = next(p for p in problems if p.location.file.endswith("x.xlsx"))
    assert unsafe.severity == "warning" and "../../etc/x.xlsx" in unsafe.message and "«x.xlsx»" in unsafe.message
    assert next(p for p in problems if p.code == "malformed-message").severity == "error"


def test_rerun_is_idempotent(inbox: Path):
    first, problems1 = collect([inbox])
    second, problems2 = collect([inbox])
    assert [(i.source, i.sha256, i.received) for i in first] == [(i.source, i.sha256, i.received) for i in second]
    assert problems1 == problems2
    assert len({i.source for i in first}) == len(first)
    # the same inbox reached through a root or a sub-folder argument keeps its identities
    via_root, _ = collect([inbox / "thu.eml", inbox / "xom"], root=inbox)
    assert {i.source for i in via_root} <= {i.source for i in first}


def test_a_file_given_twice_is_read_once(inbox: Path):
    incoming, _ = collect([inbox, inbox / "XOM01_2025-03.xlsx"])
    assert [i.display for i in incoming].count("XOM01_2025-03.xlsx") == 1


def test_date_missing_falls_back_to_the_eml_mtime(tmp_path: Path):
    path = tmp_path / "khong-ngay.eml"
    path.write_bytes(message(("a.xlsx", b"PK"), date=None).as_bytes())
    os.utime(path, (1_741_000_000, 1_741_000_000))
    (bad := tmp_path / "ngay-sai.eml").write_bytes(message(("b.xlsx", b"PK"), date="hôm qua").as_bytes())
    os.utime(bad, (1_741_100_000, 1_741_100_000))
    (tmp_path / "khong-mui.eml").write_bytes(
        message(("c.xlsx", b"PK"), date="Tue, 04 Mar 2025 01:00:00 -0000").as_bytes())
    found = {i.name: i.received for i in collect([tmp_path])[0]}
    assert found["a.xlsx"] == datetime.fromtimestamp(1_741_000_000, timezone.utc).astimezone(VN_TZ)
    assert found["b.xlsx"] == datetime.fromtimestamp(1_741_100_000, VN_TZ)
    assert found["c.xlsx"] == datetime(2025, 3, 4, 8, 0, tzinfo=VN_TZ)
    assert all(t.utcoffset() == timedelta(hours=7) for t in found.values())


def test_truncated_message_keeps_what_is_readable(tmp_path: Path):
    raw = message(("XOM01_2025-03.xlsx", small_zip("ok")), ("XOM02_2025-03.xlsx", os.urandom(3000))).as_bytes()
    cut = raw[: raw.index(b"XOM02_2025-03.xlsx") + 400]     # saved half-way through the second attachment
    (tmp_path / "cut.eml").write_bytes(cut)
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "text.eml").write_bytes(b"just a note\nwithout headers\n")
    incoming, problems = collect([tmp_path])
    assert {i.name: i.data for i in incoming}["XOM01_2025-03.xlsx"] == small_zip("ok")
    assert sorted((p.code, p.location.file) for p in problems) == [
        ("malformed-message", "cut.eml"), ("malformed-message", "empty.eml"), ("malformed-message", "text.eml")]


def test_mbox(tmp_path: Path):
    box = mailbox.mbox(tmp_path / "hop.mbox")
    box.add(message(("XOM01_2025-03.xlsx", small_zip("1")), msgid="<a@x>"))
    box.add(message(msgid="<b@x>", sender="CQ <cq@example.vn>"))
    box.add(message(("XOM04_2025-03.xlsx", small_zip("3")), ("XOM04_2025-03.xlsx", small_zip("3b")), msgid=None,
                    sender="Xom4@Example.vn", date="Sat, 01 Mar 2025 00:00:00 +0700"))
    box.add(message(("XOM05_2025-03.xlsx", small_zip("4")), msgid="<a@x>"))   # a reused Message-ID
    box.close()
    before = snapshot(tmp_path)
    incoming, problems = collect([tmp_path / "hop.mbox"])
    assert snapshot(tmp_path) == before
    assert [(i.display, i.source, i.name) for i in incoming] == [
        ("hop.mbox › #1 › XOM01_2025-03.xlsx", "hop.mbox#<a@x>#1", "XOM01_2025-03.xlsx"),
        ("hop.mbox › #3 › XOM04_2025-03.xlsx", "hop.mbox#3#1", "XOM04_2025-03.xlsx"),
        ("hop.mbox › #3 › XOM04_2025-03.xlsx (2)", "hop.mbox#3#2", "XOM04_2025-03 (2).xlsx"),
        ("hop.mbox › #4 › XOM05_2025-03.xlsx", "hop.mbox#4#1", "XOM05_2025-03.xlsx"),
    ]
    assert [i.data for i in incoming] == [small_zip(t) for t in ("1", "3", "3b", "4")]
    assert incoming[1].sender == "xom4@example.vn"
    assert incoming[1].received == datetime(2025, 3, 1, tzinfo=VN_TZ)
    assert [(p.code, p.location.file) for p in problems] == [("no-attachment", "hop.mbox › #2")]


def test_mbox_written_by_hand(tmp_path: Path):
    """CRLF lines, an unescaped "From " inside a body, and a single message saved under an .mbox name."""
    one = message(("XOM10_2025-03.xlsx", small_zip("10")), msgid="<ten@x>",
                  body="Xin chao\nFrom the head\n").as_bytes()
    assert b"\nFrom the head" in one
    two = message(("XOM11_2025-03.xlsx", small_zip("11")), msgid="<eleven@x>").as_bytes()
    crlf = b"From a@x Mon Mar  3 10:00:00 2025\n" + one + b"\n\nFrom b@x Mon Mar  3 11:00:00 2025\n" + two
    (tmp_path / "tay.mbox").write_bytes(crlf.replace(b"\n", b"\r\n"))
    (tmp_path / "mot-thu.mbox").write_bytes(b"\n" + one)
    incoming, problems = collect([tmp_path])
    assert [(i.display, i.data) for i in incoming] == [
        ("mot-thu.mbox › #1 › XOM10_2025-03.xlsx", small_zip("10")),
        ("tay.mbox › #1 › XOM10_2025-03.xlsx", small_zip("10")),
        ("tay.mbox › #2 › XOM11_2025-03.xlsx", small_zip("11"))]
    assert problems == []


def test_maildir_identity_survives_a_mail_client_reading_it(tmp_path: Path):
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    md.add(message(("XOM06_2025-03.xlsx", small_zip("6")), msgid=None))
    md.add(message(("XOM07_2025-03.xlsx", small_zip("7")), msgid="<seven@x>"))
    (tmp_path / "Maildir" / "dovecot-uidlist").write_bytes(b"3 V1 N3\n")     # server bookkeeping, not input
    first, problems = collect([tmp_path / "Maildir"])
    assert problems == []
    assert sorted(i.name for i in first) == ["XOM06_2025-03.xlsx", "XOM07_2025-03.xlsx"]
    assert all(i.display.startswith("Maildir › #") for i in first)
    assert "Maildir#<seven@x>#1" in {i.source for i in first}
    # a mail client marks every message read: new/<key> -> cur/<key>:2,S
    for path in list((tmp_path / "Maildir" / "new").iterdir()):
        path.rename(tmp_path / "Maildir" / "cur" / f"{path.name}:2,S")
    again, _ = collect([tmp_path / "Maildir"])
    assert sorted(i.source for i in again) == sorted(i.source for i in first)
    # the Maildir found while walking its parent folder is read as a mailbox too
    walked, _ = collect([tmp_path])
    assert sorted(i.source for i in walked) == sorted(i.source for i in first)


def test_nfd_and_undecodable_names_on_disk(tmp_path: Path):
    nfd = unicodedata.normalize("NFD", "Xóm Đình_2025-03.xlsx")
    (tmp_path / nfd).write_bytes(b"PK nfd")
    incoming, problems = collect([tmp_path])
    item = incoming[0]
    assert item.display == item.name == unicodedata.normalize("NFC", nfd)
    assert item.source == nfd                       # identity is the name as stored, so re-runs match
    if sys.platform.startswith("linux"):
        raw = os.path.join(os.fsencode(tmp_path), b"b\xe1o c\xe1o.xlsx")   # Windows-1258 bytes, not UTF-8
        with open(raw, "wb") as fh:
            fh.write(b"PK latin")
        item = by_display(collect([tmp_path])[0])["b\ufffdo c\ufffdo.xlsx"]
        assert item.name == "b_o c_o.xlsx" and item.data == b"PK latin"
        assert item.source == "b\\xe1o c\\xe1o.xlsx"
        item.source.encode("utf-8")                 # storable in SQLite as text


def test_unsafe_attachment_names(tmp_path: Path):
    msg = message(("XOM01_2025-03.xlsx", small_zip("a")), ("XOM01_2025-03.xlsx", small_zip("b")),
                  ("/etc/passwd", b"x"), ("..", b"y"), (unicodedata.normalize("NFD", VN_NAME), small_zip("nfd")))
    raw = msg.as_bytes().replace(b'filename="/etc/passwd"', b'filename="a\x07b\x1b[31m.xlsx"')
    (tmp_path / "m.eml").write_bytes(raw)
    incoming, problems = collect([tmp_path])
    assert [i.name for i in incoming] == ["XOM01_2025-03.xlsx", "XOM01_2025-03 (2).xlsx", "ab[31m.xlsx",
                                          "tep-dinh-kem-4.xlsx", VN_NAME]
    assert [i.display for i in incoming][:2] == ["m.eml › XOM01_2025-03.xlsx", "m.eml › XOM01_2025-03.xlsx (2)"]
    warned = [(p.code, p.location.file) for p in problems]
    assert warned == [("unsafe-attachment-name", "m.eml › ab[31m.xlsx"), ("unsafe-attachment-name", "m.eml › .."),
                      ("unsafe-attachment-name", f"m.eml › {VN_NAME}")]
    assert all("\x07" not in p.message and "\x1b" not in p.message for p in problems)


def test_parts_that_are_not_files(tmp_path: Path):
    """Apple Mail's inline-named attachment counts; a forwarded message is searched; a signature is not a file."""
    inner = message(("XOM08_2025-03.xlsx", small_zip("fwd")), msgid="<inner@x>")
    outer = message(msgid="<outer@x>")
    outer.add_attachment(inner)
    outer.add_attachment(b"sig", maintype="application", subtype="pkcs7-signature", filename="smime.p7s")
    outer.add_attachment(small_zip("apple"), maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1],
                         filename="XOM09_2025-03.xlsx", disposition="inline")
    outer.add_attachment(b"PK unnamed", maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1])
    outer.get_body(("plain",)).add_related(b"\x89PNG", "image", "png", cid="<sign@x>", filename="chu-ky.png")
    (tmp_path / "fwd.eml").write_bytes(outer.as_bytes())
    incoming, problems = collect([tmp_path])
    assert [(i.name, i.source) for i in incoming] == [("XOM08_2025-03.xlsx", "fwd.eml#<outer@x>#1"),
                                                      ("XOM09_2025-03.xlsx", "fwd.eml#<outer@x>#2"),
                                                      ("tep-dinh-kem-3.xlsx", "fwd.eml#<outer@x>#3")]
    assert incoming[2].data == b"PK unnamed" and incoming[2].display == "fwd.eml › tep-dinh-kem-3.xlsx"
    assert problems == []


@pytest.mark.parametrize("received, stored", [
    ("../../etc/x.xlsx", "x.xlsx"), ("C:\\x\\y.xlsx", "y.xlsx"), ("/abs/z.xlsx", "z.xlsx"),
    ("\\\\server\\share\\w.xlsx", "w.xlsx"), ("a\x00b\r\n.xlsx", "ab.xlsx"), ("\u202eslx.exe", "slx.exe"),
    ("CON.xlsx", "_CON.xlsx"), ("  x.xlsx. ", "x.xlsx"), ('a<b>:"|?*.xlsx', "a_b______.xlsx"), ("..", ""),
    ("x/..", ""), (unicodedata.normalize("NFD", "Xóm"), "Xóm"), ("b\udce1o.xlsx", "b_o.xlsx"),
])
def test_safe_name(received: str, stored: str):
    assert safe_name(received) == stored


def test_safe_name_caps_length_and_keeps_extension():
    name = safe_name("Đ" * 400 + ".xlsx")
    assert name.endswith(".xlsx") and len(name.encode("utf-8")) <= 150 and name.startswith("ĐĐ")


def test_unreadable_path_is_reported_not_raised(tmp_path: Path):
    incoming, problems = collect([tmp_path / "khong-co.xlsx"])
    assert incoming == [] and len(problems) == 1 and problems[0].is_error
    assert problems[0].location.file == "khong-co.xlsx"


def test_safe_name_fast_path_changes_nothing_the_full_rules_would():
    """Plain ASCII names skip the full sanitising; for every such name the full rules must give it back unchanged."""
    import random
    from antt_batch.intake import _PLAIN_NAME, _RESERVED, _sanitized
    rng = random.Random(7)
    alphabet = "abcXYZ019_-." * 3 + "." * 6
    names = ["XOM01_2025-03.xlsx", "a", "a.b", "-x-", "_", "nul_ok.xlsx", "x" * 100, "v1.2.3.xlsx", "LPT10.txt",
             *("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 120))) for _ in range(20_000))]
    plain = [n for n in names if _PLAIN_NAME.fullmatch(n) and not _RESERVED.fullmatch(n)]
    assert len(plain) > 2_000 and "XOM01_2025-03.xlsx" in plain
    assert [n for n in plain if _sanitized(n) != n] == []
    for name in ("..xlsx", "a..b.xlsx", "a.", ".hidden", "CON.xlsx", "x" * 101, "a b.xlsx", "Xóm.xlsx"):
        assert not (_PLAIN_NAME.fullmatch(name) and not _RESERVED.fullmatch(name)), name   # left to the full rules
