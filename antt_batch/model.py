"""Plain records passed between the stages: registry -> intake -> history -> scoring -> report.

They hold no behaviour beyond small derived properties, so the scoring core stays pure (inputs -> results) and can
be reused by rollup and tests without files, SQLite or Excel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

UNIT_TYPES = ("KDC", "XA", "CQDN", "CSGD")

# Result codes of one criterion (spec §6).
DAT, KHONG_DAT, CHUA_DEN_HAN, THIEU_DU_LIEU, KHONG_AP_DUNG = (
    "DAT", "KHONG_DAT", "CHUA_DEN_HAN", "THIEU_DU_LIEU", "KHONG_AP_DUNG")
# Unit verdicts, in order of precedence (spec §6).
NGOAI_PHAM_VI, CHUA_DAT, DANG_DAT = "NGOAI_PHAM_VI", "CHUA_DAT", "DANG_DAT"
VERDICT_VI = {"DAT": "Đạt", "CHUA_DAT": "Chưa đạt", "DANG_DAT": "Đang đạt", "THIEU_DU_LIEU": "Thiếu dữ liệu",
              "NGOAI_PHAM_VI": "Ngoài phạm vi"}
RESULT_VI = {"DAT": "Đạt", "KHONG_DAT": "Không đạt", "CHUA_DEN_HAN": "Chưa đến hạn",
             "THIEU_DU_LIEU": "Thiếu dữ liệu", "KHONG_AP_DUNG": "Không áp dụng"}


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a value or an incident came from: the file as received, sheet, A1 cell, its month, register row.
    Slotted, like `FieldValue`: a run holds one per value (10,000 files: 150,000), in ~40% of the memory."""

    file: str
    sheet: str = ""
    cell: str = ""
    month: str = ""          # YYYY-MM of the submission
    row: int | None = None   # Excel row of an incident in `Vụ việc`

    def __reduce__(self):
        """Pickled as its fields (every value travels from a reader worker): a slotted dataclass's own pickling
        runs Python code for each object, and 150,000 values made a 10,000-file ingest ~1 s slower."""
        return Evidence, (self.file, self.sheet, self.cell, self.month, self.row)

    def describe(self) -> str:
        parts = [self.file, self.sheet and f"trang «{self.sheet}»", self.cell and f"ô {self.cell}",
                 self.month and f"tháng {self.month[5:]}/{self.month[:4]}"]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Unit:
    """One reporting unit from the registry; the commune itself is the one `XA` unit."""

    code: str
    name: str
    type: str
    emails: tuple[str, ...] = ()
    recognised_by: str = "xa"             # xa | tinh | bo (spec §2)
    in_scope: bool | None = None          # registry override: False puts the unit out of scope
    scope_reason: str = ""
    active_from: date | None = None
    active_to: date | None = None
    subtype: dict[str, Any] = field(default_factory=dict)   # registry defaults for scope fields (cap_hoc, ...)
    baselines: dict[int, dict[str, int]] = field(default_factory=dict)  # year -> series -> count

    def active_on(self, day: date) -> bool:
        return (self.active_from is None or self.active_from <= day) and (
            self.active_to is None or day <= self.active_to)


@dataclass(frozen=True, slots=True)
class FieldValue:
    value: Any               # normalised: int, float, date, bool, code str or NFC text
    evidence: Evidence

    def __reduce__(self):
        """See `Evidence.__reduce__`."""
        return FieldValue, (self.value, self.evidence)


@dataclass(frozen=True)
class Snapshot:
    """The accepted status fields of one unit for one month (blank fields are absent: blank = unchanged)."""

    unit_code: str
    period: str              # YYYY-MM
    received: datetime
    fields: dict[str, FieldValue]


@dataclass(frozen=True)
class Incident:
    """One row of a `Vụ việc` register of an accepted submission."""

    unit_code: str           # whose register it is in
    ngay: date
    loai: str
    muc_do: str | None
    bat_kha_khang: bool | None
    kip_thoi_phat_hien: bool | None
    giam_thieu_hau_qua: bool | None
    bao_cao_ngay: bool | None
    ma_vu_viec: str | None
    mo_ta: str | None
    evidence: Evidence


@dataclass(frozen=True)
class Recognition:
    """The commune's recorded recognition decision for year Y (`[recognition.Y]` in antt.toml)."""

    year: int
    decision: str
    date: date | None
    unit_codes: tuple[str, ...]


@dataclass
class ScoringInput:
    commune: Unit
    units: list[Unit]                                  # every non-XA unit of the registry
    snapshots: dict[str, list[Snapshot]]               # unit code -> snapshots sorted by (period, received)
    incidents: list[Incident]                          # every incident of every accepted, current submission
    recognition: dict[int, Recognition] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)   # reading choices overriding catalog defaults


@dataclass(frozen=True)
class CriterionResult:
    criterion_id: str
    code: str                                # DAT | KHONG_DAT | CHUA_DEN_HAN | THIEU_DU_LIEU | KHONG_AP_DUNG
    reason: str = ""                         # one Vietnamese line
    evidence: tuple[Evidence, ...] = ()
    projected: bool = False                  # XA-4.2 resting on units' own verdicts


@dataclass
class UnitResult:
    unit: Unit
    evaluation_year: int
    as_of: date
    period_end: date
    in_scope: bool | None                    # None = unknown (THIEU_DU_LIEU on scope)
    scope_reason: str
    registered: bool
    verdict_code: str
    score_pct: float | None
    provisional: bool
    results: dict[str, CriterionResult]      # leaf ID -> result, in catalog order
    groups: dict[str, str] = field(default_factory=dict)   # parent ID -> result code
    warnings: list = field(default_factory=list)            # Problems raised while scoring (e.g. no security force)

    @property
    def failed_criteria(self) -> list[str]:
        return [cid for cid, r in self.results.items() if r.code == KHONG_DAT]


@dataclass
class ScoreResult:
    period: str                              # YYYY-MM, or YYYY for the annual evaluation
    final: bool                              # report --year
    units: list[UnitResult]                  # registry order, non-XA units
    commune: UnitResult
    incident_hits: dict[Incident, list[str]] = field(default_factory=dict)  # incident -> criteria it hit


# --- what the report writer needs (spec §7) -------------------------------------------------------------------

PROGRESS_VI = {"DUNG_HAN": "Đúng hạn", "TRE_HAN": "Trễ hạn", "THIEU": "Chưa nộp", "CHUA_DEN_HAN": "Chưa đến hạn"}
DECISION_VI = {"accepted": "Chấp nhận", "superseded": "Đã thay thế", "duplicate": "Trùng lặp",
               "rejected": "Từ chối", "locked": "Năm đã khóa sổ", "noted": "Ghi nhận (không có tệp)"}


@dataclass(frozen=True)
class ProgressCell:
    """One unit x month of `Tiến độ nộp`."""

    unit_code: str
    month: str                      # YYYY-MM
    status: str                     # DUNG_HAN | TRE_HAN | THIEU | CHUA_DEN_HAN
    received: datetime | None       # e-mail Date: header in UTC+7, else file mtime
    sender: str = ""
    resubmissions: int = 0


@dataclass(frozen=True)
class LedgerEntry:
    """One file ever seen (spec §5): accepted, superseded, duplicate, rejected or for a locked year."""

    file: str                       # as received; `message.eml › attachment.xlsx` for attachments
    sha256: str
    sender: str
    received: datetime | None
    decision: str                   # accepted | superseded | duplicate | rejected | locked | noted
    unit_code: str = ""
    period: str = ""
    errors: int = 0
    warnings: int = 0
    changed_fields: str = ""        # field IDs whose value changed against the unit's previous snapshot


@dataclass
class ReportInput:
    """Everything one output workbook shows; the writer only formats it."""

    commune_code: str
    commune_name: str
    forward_to: str
    period: str                     # YYYY-MM, or YYYY for `report --year`
    as_of: date
    today: date
    generated_at: datetime
    tool_version: str
    catalog_version: str
    score: ScoreResult | None       # None until the writer's `scorer` gives it (`report.write_report`)
    progress: list[ProgressCell]
    months: list[str]               # the columns of `Tiến độ nộp` (YYYY-MM)
    incidents: list[Incident]       # incidents of the evaluation year(s) shown
    problems: list                  # Problems of the period's files
    ledger: list[LedgerEntry]
    input_sha256: str
    trend: list[tuple[str, int, int | None]] = field(default_factory=list)  # (month label, this year, prev year)
    extra_criteria: list[str] = field(default_factory=list)
    redact_descriptions: bool = False
    committee_name: str = "Ban Chỉ đạo 138"
    units: list[Unit] = field(default_factory=list)   # listed, commune first (default: the score's)
