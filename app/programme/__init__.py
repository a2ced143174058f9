"""The programme (老旧工业区块改造提升攻坚行动 2022-2026): lifecycle, progress, classes, 十化, incentives, reports.

Pure functions hold the formulas (:mod:`.lifecycle`, :mod:`.classification`, :mod:`.tenx`,
:mod:`.incentives`, :mod:`.plans`); the functions taking a ``Connection`` read and write the database
with bound parameters only. The API (``app/api/programme.py``) and the CLI call the same functions.
"""
