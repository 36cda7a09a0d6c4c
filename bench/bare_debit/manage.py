"""``manage.py`` of the bare-debit project (bench/bare_debit/__init__.py),
runnable from anywhere: puts bench/ on sys.path first."""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bare_debit.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
