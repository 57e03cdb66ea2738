"""Ready-to-send e-mail drafts (.eml): the month's report to the level above and reminders to late units.

The operator opens them in any mail client and presses send; nothing is sent by the tool.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from pathlib import Path

from antt_batch.assemble import deadline
from antt_batch.model import VERDICT_VI
from antt_batch.text import vn_date

XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _write(msg: EmailMessage, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(msg))
    return path


def _summary(ws, run) -> str:
    period = run.period
    verdicts: dict[str, int] = {}
    for unit in run.report.score.units:
        verdicts[unit.verdict_code] = verdicts.get(unit.verdict_code, 0) + 1
    lines = [f"Kính gửi: {ws.forward_to}.", "",
             f"{ws.commune.name} gửi báo cáo kết quả xây dựng phong trào “An toàn về an ninh, trật tự” tháng "
             f"{period[5:]}/{period[:4]} (tệp đính kèm).",
             f"- Kết quả của xã: {VERDICT_VI[run.report.score.commune.verdict_code]}.",
             "- Đơn vị: " + "; ".join(f"{VERDICT_VI[k]}: {v}" for k, v in sorted(verdicts.items())) + ".",
             f"- Tệp nhận trong tháng: {run.ingest.count('accepted')} chấp nhận, "
             f"{run.ingest.count('rejected')} bị từ chối.", "", "Trân trọng."]
    return "\n".join(lines)


def write_drafts(ws, run, today: date) -> list[Path]:
    folder = run.report.path.parent / "thu-nhap"
    sender = ws.commune.emails[0] if ws.commune.emails else ""
    drafts = []
    main = EmailMessage()
    main["To"] = ws.forward_to_email
    main["From"] = sender
    main["Subject"] = f"Báo cáo ANTT {ws.commune.name} tháng {run.period[5:]}/{run.period[:4]}"
    main["X-Unsent"] = "1"
    main.set_content(_summary(ws, run))
    main.add_attachment(run.report.path.read_bytes(), *XLSX_TYPE, filename=run.report.path.name)
    drafts.append(_write(main, folder / f"gui-cap-tren_{run.period}.eml"))
    for cell in run.report.progress:
        if cell.month != run.period or cell.received is not None or cell.status == "DUNG_HAN":
            continue
        unit = ws.find(cell.unit_code)
        msg = EmailMessage()
        msg["To"] = ", ".join(unit.emails)
        msg["From"] = sender
        msg["Subject"] = f"Nhắc nộp báo cáo ANTT tháng {run.period[5:]}/{run.period[:4]} – {unit.name}"
        msg["X-Unsent"] = "1"
        msg.set_content(
            f"Kính gửi {unit.name},\n\nĐến ngày {vn_date(today)}, Công an xã chưa nhận được báo cáo tháng "
            f"{run.period[5:]}/{run.period[:4]} của đơn vị (hạn nộp "
            f"{vn_date(deadline(run.period, ws.deadline_day))}). Đề nghị đơn vị điền biểu mẫu "
            f"{unit.code}_{run.period}.xlsx và gửi lại sớm.\n\nTrân trọng.")
        drafts.append(_write(msg, folder / f"nhac-nop_{unit.code}_{run.period}.eml"))
    return drafts

