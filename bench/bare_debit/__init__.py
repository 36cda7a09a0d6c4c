"""The bare-debit reference of bench/settlement.py: a minimal standalone
Django project whose one endpoint does only the money part of a settlement —
lock one account row (SELECT ... FOR UPDATE), update its balance, insert one
entry row, in one transaction — the least any Django implementation of a
debit could do. It shares nothing with the product (no import of config/,
wallet/, core_platform/ ...).

    POST /debit  {"account": 1, "amount_fen": 5350, "reference": "..."}
    → 200 {"account": 1, "balance_fen": ...}; 400 bad body, 404 no such
      account, 409 the balance would go negative.

Settings (bare_debit/settings.py) from the environment: BARE_DB_PORT,
BARE_DB_NAME (PostgreSQL on 127.0.0.1, user postgres), BARE_DB_POOL_MAX_SIZE
(default 20, as config/settings/database.py's DB_POOL_MAX_SIZE).
bench/settlement.py (``bare_debit_start``) creates the tables with
``python bench/bare_debit/manage.py migrate --run-syncdb`` (the app has no
migration files), inserts one account per client, and starts

    python -m uvicorn bare_debit.asgi:application --app-dir bench --workers N ...

with the wallet's uvicorn options and worker count.
"""
