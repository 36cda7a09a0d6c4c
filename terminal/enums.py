from django.db import models


class GatewayMessageStatus(models.TextChoices):
    """Life of one terminal request, keyed by (fixmedins_code, msgid): the
    wallet's one idempotency record per terminal msgid (a 2102's ``Payment``
    hangs off it)."""

    PROCESSING = "processing", "处理中"
    """A request with this msgid is running now; a concurrent duplicate is
    told ``MSGID_IN_PROGRESS`` and retries. A row left here by a process that
    died mid-request is taken over by the retry once its lease has run out."""

    RETRYABLE = "retryable", "待重试"
    """The last answer was not final and was not stored (payer asked to
    confirm, outcome unknown, core unreachable, internal error): the same
    body runs again when the terminal retries; another body is refused."""

    DONE = "done", "已完成"
    """The answer is stored; a replay gets it byte for byte."""
