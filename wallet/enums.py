from django.db import models


class GatewayMessageStatus(models.TextChoices):
    """Life of one terminal request, keyed by (fixmedins_code, msgid)."""

    PROCESSING = "processing", "处理中"  # first request still running; duplicates are told to retry
    DONE = "done", "已完成"  # answer stored; a replay returns it verbatim
