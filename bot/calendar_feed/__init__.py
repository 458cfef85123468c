"""The practitioner's own calendar as an iCalendar subscription: fetching it safely
(``fetch.py``) and reading its appointments (``parse.py``)."""
