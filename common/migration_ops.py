"""Operations shared by migrations: pure functions of the migration state,
no model imports (issue #21's moves of models between apps)."""

from __future__ import annotations

import functools

from django.db import migrations


def _content_types_relabel(apps, schema_editor, *, old: str, new: str, model_names: list[str]) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in model_names:
        if not ContentType.objects.filter(app_label=new, model=model).exists():
            ContentType.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_move(old: str, new: str, model_names: list[str]) -> migrations.RunPython:
    """Keep the content types (and so any permission or generic relation
    naming them) of models moved from app ``old`` to app ``new``: relabel
    them instead of leaving stale rows behind. A fresh database has none yet
    (post_migrate creates them). Reversible."""
    return migrations.RunPython(
        functools.partial(_content_types_relabel, old=old, new=new, model_names=model_names),
        functools.partial(_content_types_relabel, old=new, new=old, model_names=model_names),
        elidable=True,
    )
