"""The one-screen summary printed at the end of `run` (spec §9)."""

from __future__ import annotations

from antt_batch.model import PROGRESS_VI, VERDICT_VI


def summary(ws, run) -> str:
    ing, rep = run.ingest, run.report
    verdicts: dict[tuple[str, str], int] = {}
    for unit in rep.score.units:
        key = (unit.unit.type, unit.verdict_code)
        verdicts[key] = verdicts.get(key, 0) + 1
    lines = [f"BÁO CÁO ANTT {ws.commune.name} – tháng {run.period[5:]}/{run.period[:4]}",
             f"Tệp: {ing.count('accepted')} chấp nhận, {ing.count('rejected')} từ chối, "
             f"{ing.count('duplicate')} trùng lặp, {ing.count('superseded')} bản cũ hơn, "
             f"{ing.count('seen')} đã xử lý trước đây."]
    for unit_type in ("KDC", "CQDN", "CSGD"):
        parts = [f"{VERDICT_VI[v]} {n}" for (t, v), n in sorted(verdicts.items()) if t == unit_type]
        if parts:
            lines.append(f"{unit_type}: " + ", ".join(parts))
    lines.append(f"Xã: {VERDICT_VI[rep.score.commune.verdict_code]}")
    late = [c for c in rep.progress if c.month == run.period and c.status in ("TRE_HAN", "THIEU")]
    waiting = [c.unit_code for c in rep.progress if c.month == run.period and c.received is None]
    if late:
        lines.append("Trễ/thiếu: " + ", ".join(f"{c.unit_code} ({PROGRESS_VI[c.status]})" for c in late))
    if waiting:
        lines.append("Chưa nhận báo cáo tháng này: " + ", ".join(waiting))
    rejected = [o for o in ing.outcomes if o.decision in ("rejected", "noted")]
    for o in rejected:
        first = next((p for p in o.problems if p.is_error), o.problems[0] if o.problems else None)
        lines.append(f"  ✗ {o.display}: {first.message if first else ''}")
    for warning in [*ws.warnings, *ws.period_warnings(run.period)]:
        lines.append(f"  ! {warning.message} → {warning.hint}")
    if rep.locked:
        lines.append(f"Tệp báo cáo cũ đang mở trong chương trình khác; báo cáo mới ghi thành: {rep.path}")
    else:
        lines.append(f"Báo cáo: {rep.path}")
    if run.drafts:
        lines.append(f"Thư nháp: {run.drafts[0].parent}")
    return "\n".join(lines)
