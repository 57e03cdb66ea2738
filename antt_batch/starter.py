"""The commented antt.toml that `antt-batch init` writes (spec §9.1): placeholders the operator must replace."""

STARTER_TOML = '''\
# Cấu hình không gian làm việc antt-batch (Thông tư 124/2021/TT-BCA).
# Thay mọi giá trị «CẦN ĐIỀN» bằng thông tin thật; chương trình cảnh báo (config-placeholder) cho tới khi điền xong.

[commune]
code = "CAN-DIEN-MA-XA"          # mã xã, chữ không dấu (nên dùng mã ĐVHC chính thức để duy nhất toàn quốc)
name = "xã CẦN ĐIỀN"
forward_to = "CẦN ĐIỀN: Ban Chỉ đạo 138 tỉnh …"   # cơ quan nhận báo cáo; từ 01/07/2025 không còn cấp huyện
forward_to_email = ""            # địa chỉ thư của cơ quan nhận (để tạo sẵn thư gửi)
committee_name = "Ban Chỉ đạo 138"
deadline_day = 5                 # báo cáo tháng nộp chậm nhất ngày này của tháng sau
emails = []                      # địa chỉ thư của Công an xã

# [commune.baselines.2024]       # số vụ năm trước của toàn xã, khi lịch sử chưa có đủ năm trước
# toi_pham = 0
# te_nan_xa_hoi = 0
# vi_pham_phap_luat = 0

# Mỗi đơn vị một bảng [[units]]; type là KDC (khu dân cư), CQDN (cơ quan, doanh nghiệp) hoặc CSGD (cơ sở giáo dục).
[[units]]
code = "XOM01"
name = "Xóm CẦN ĐIỀN"
type = "KDC"
emails = []
# recognised_by = "xa"           # xa (mặc định) | tinh | bo: đơn vị do cấp trên công nhận không tính vào XA-4
# in_scope = false               # đơn vị ngoài phạm vi Thông tư (kèm scope_reason = "…")
# active_from = 2025-01-01

# [recognition.2025]             # quyết định công nhận của UBND xã (khi đã có)
# decision = "123/QĐ-UBND"
# date = 2025-11-12
# units = ["XOM01"]
'''
