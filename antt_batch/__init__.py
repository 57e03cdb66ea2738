"""antt-batch: monthly ANTT reports (Thông tư 124/2021/TT-BCA) from Excel templates to one consolidated workbook.

Kept free of heavy imports so the command line starts fast (spec §10); the public API lives in `antt_batch.api`.
"""

__version__ = "0.1.0"
