"""The documents of a scored period: the assessment report and workbook for the city leadership and one
remediation notice per department (``sgs report``, dashboard downloads; docs/reports.md).

Reports read a published snapshot only, like the dashboard, and print the numbers the dashboard shows
(``metrics.results``, ``metrics.explain``); ``reports.build`` writes them all or nothing.
"""
