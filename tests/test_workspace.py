"""antt.toml loading: every config error located by key, in Vietnamese; placeholders and outdated routing warn."""

from pathlib import Path

import pytest

from antt_batch.errors import AnttError
from antt_batch.workspace import load_workspace, parse_config
from tests.conftest import SMALL_TOML


def codes_and_keys(text: str) -> list[tuple[str, str]]:
    with pytest.raises(AnttError) as info:
        parse_config(text, Path("."))
    return [(p.code, p.location.field) for p in info.value.problems]


def test_small_workspace_loads(workspace):
    assert workspace.commune.code == "PHUDINH" and workspace.commune.type == "XA"
    assert [u.code for u in workspace.units] == ["XOM01", "XOM02", "DN-MAY", "TRUONG-THCS"]
    assert workspace.find("XOM01").baselines == {2024: {"toi_pham": 1, "te_nan_xa_hoi": 0, "vi_pham_phap_luat": 1}}
    assert workspace.warnings == []


def test_duplicate_unknown_type_non_ascii_missing_name_and_xa_unit():
    text = SMALL_TOML + """
[[units]]
code = "XOM01"
name = "Trùng mã"
type = "KDC"

[[units]]
code = "XOM99"
name = "Loại lạ"
type = "THON"

[[units]]
code = "XÓM03"
name = "Mã có dấu"
type = "KDC"

[[units]]
code = "XOM04"
type = "KDC"

[[units]]
code = "PHUDINH2"
name = "Xã trong units"
type = "XA"
"""
    assert codes_and_keys(text) == [
        ("config-error", "units[5].code"), ("config-error", "units[6].type"),
        ("config-error", "units[7].code"), ("config-error", "units[8].name"), ("config-error", "units[9].type")]


def test_messages_are_vietnamese_and_name_the_key():
    with pytest.raises(AnttError) as info:
        parse_config(SMALL_TOML.replace('type = "CQDN"', 'type = "DN"'), Path("."))
    (prob,) = info.value.problems
    assert prob.location.file == "antt.toml"
    assert "units[3].type" in prob.message and "không hợp lệ" in prob.message


def test_toml_syntax_error_is_a_config_error():
    assert codes_and_keys("[commune\ncode=1") == [("config-error", "")]


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(AnttError) as info:
        load_workspace(tmp_path)
    assert info.value.problems[0].code == "config-error"
    assert "antt-batch init" in info.value.problems[0].message


def test_placeholders_warn_until_filled(tmp_path):
    from antt_batch import api
    api.init_workspace(tmp_path)
    ws = load_workspace(tmp_path)
    keys = {p.location.field for p in ws.warnings}
    assert {p.code for p in ws.warnings} == {"config-placeholder"}
    assert {"commune.code", "commune.name", "commune.forward_to", "units[1].name"} <= keys


def test_district_recipient_is_outdated_only_after_the_reform():
    ws = parse_config(SMALL_TOML.replace("Ban Chỉ đạo 138 tỉnh", "Ban Chỉ đạo 138 huyện Phú Bình"), Path("."))
    assert ws.period_warnings("2025-06") == []
    (warning,) = ws.period_warnings("2025-07")
    assert warning.code == "config-outdated" and warning.severity == "warning"
    assert parse_config(SMALL_TOML, Path(".")).period_warnings("2025-07") == []


def test_suggestion_is_accent_and_case_insensitive(workspace):
    assert workspace.suggest("xom 01").code == "XOM01"
    assert workspace.suggest("xom dinh").code == "XOM01"
    assert workspace.suggest("nothing") is None


def test_bom_is_accepted_and_ansi_is_a_located_error(tmp_path):
    (tmp_path / "antt.toml").write_bytes(b"\xef\xbb\xbf" + SMALL_TOML.encode("utf-8"))
    assert load_workspace(tmp_path).commune.name == "xã Phú Đình"
    (tmp_path / "antt.toml").write_bytes(SMALL_TOML.replace("Đình", "Dinh").encode("ascii", "replace")
                                         .replace(b"Ph?", b"Ph\xf9"))
    with pytest.raises(AnttError) as info:
        load_workspace(tmp_path)
    assert info.value.problems[0].code == "config-error" and "UTF-8" in info.value.problems[0].message


def test_a_large_registry_is_parsed_once_per_content(tmp_path, monkeypatch):
    """Above LARGE_CONFIG characters the parsed TOML is cached by content: the same workspace, from the cache, and
    an edit is never served stale; a damaged cache file is only rebuilt."""
    from antt_batch.workspace import LARGE_CONFIG
    monkeypatch.setenv("ANTT_BATCH_CACHE", str(tmp_path / "cache"))
    many = "".join(f'\n[[units]]\ncode = "DN{i:05d}"\nname = "Công ty số {i}"\ntype = "CQDN"\n' for i in range(1500))
    text = SMALL_TOML + many
    assert len(text) > LARGE_CONFIG
    first = parse_config(text, tmp_path)
    cached = list((tmp_path / "cache").glob("config-*.pickle"))
    assert len(cached) == 1
    again = parse_config(text, tmp_path)
    assert again.units == first.units and len(again.units) == len(first.units) >= 1500
    edited = parse_config(text.replace("Công ty số 7\"", "Công ty Đông Á\""), tmp_path)
    assert edited.find("DN00007").name == "Công ty Đông Á" and len(list((tmp_path / "cache").iterdir())) == 2
    cached[0].write_bytes(b"not a pickle")
    assert parse_config(text, tmp_path).units == first.units
