"""Log filter that masks resident ID numbers in every record before any
handler formats it: in the message, its arguments and extra fields."""

from __future__ import annotations

import logging

from .idnumber import mask_in_text

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))


class MaskIdNumbersFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the log line
            message = str(record.msg)
        record.msg = mask_in_text(message)
        record.args = None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, mask_in_text(value))
        if record.exc_text:
            record.exc_text = mask_in_text(record.exc_text)
        return True
