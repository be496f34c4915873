"""The weekly report: one view of every channel, department and person on duty.

``week`` the ISO week in the organisation's time zone; ``queries`` the SQL (Core ``GROUP BY``,
counted by the database); ``metrics`` the figures (``build_report``); ``render`` HTML,
Markdown, JSON and CSV; ``charts`` inline SVG charts; ``signoff`` approvals and publications;
``seed`` synthetic history. No Prefect here.
"""
