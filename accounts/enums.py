from django.db import models


class Channel(models.TextChoices):
    """Where a login comes from: the mini-program host or the national app."""

    WECHAT = "wechat", "微信"
    ALIPAY = "alipay", "支付宝"
    NHSA = "nhsa", "国家医保APP"


class AuditOutcome(models.TextChoices):
    SUCCESS = "success", "成功"
    FAILURE = "failure", "失败"
