"""Where things are in a template (spec §4): the one place both the template writer and the validator read.

Inputs are found through workbook-level defined names, never through fixed cells, so this layout may change
between template versions; the constants below only describe how *we* draw the current version.
"""

SHEET_GUIDE = "Hướng dẫn"
SHEET_REPORT = "Báo cáo"
SHEET_REGISTER = "Vụ việc"
REGISTER_NAME = "vu_viec"        # defined name over header + REGISTER_ROWS rows
REGISTER_TABLE = "VuViec"        # Excel table name: must differ from every defined name
REGISTER_ROWS = 200
REGISTER_HEADER_ROW = 4          # 1-based Excel row of the register header

# Register columns, in the contract's order (spec §4): field ID, Vietnamese header, type.
REGISTER_COLUMNS = (
    ("ngay", "Ngày xảy ra (dd/mm/yyyy)", "date"),
    ("loai", "Loại vụ việc", "category"),
    ("muc_do", "Mức độ", "level"),
    ("bat_kha_khang", "Bất khả kháng", "bool"),
    ("kip_thoi_phat_hien", "Kịp thời phát hiện", "bool"),
    ("giam_thieu_hau_qua", "Đã giảm thiểu hậu quả", "bool"),
    ("bao_cao_ngay", "Báo cáo ngay cấp có thẩm quyền", "bool"),
    ("ma_vu_viec", "Mã vụ việc", "text"),
    ("mo_ta", "Mô tả (bắt buộc nếu bất khả kháng)", "text"),
)

# Identity names (spec §4) and their Vietnamese labels on `Báo cáo`.
IDENTITY = (
    ("antt_template_id", "Mã biểu mẫu"),
    ("antt_template_version", "Phiên bản biểu mẫu"),
    ("antt_catalog_version", "Phiên bản bộ tiêu chí"),
    ("antt_unit_type", "Loại đơn vị"),
    ("antt_unit_code", "Mã đơn vị"),
    ("antt_unit_name", "Tên đơn vị"),
    ("antt_period", "Kỳ báo cáo (YYYY-MM)"),
)
TEMPLATE_ID_PREFIX = "ANTT-TT124-"

# Older template versions and how their field IDs map forward (spec §4: migrated with a warning).
# version -> {old field ID: new field ID}; an empty mapping means only the version number changed.
MIGRATIONS: dict[int, dict[str, str]] = {}
