"""Paying at the counter: the wallet's side of 2101 / 2102 / 2103 / 2601,
one module per state machine.

- ``settle.py`` — the terminal's 2101 pre-settle and the 2102 state machine
  (ecToken and PIN checks, journal row first, one call with the confirmation
  threshold, the confirmed settle under its own core msgid).
- ``resolve.py`` — unknown outcomes (9101, then 2601 to fence out a settle
  that never ran); the terminal's retry and a worker both use it.
- ``confirmation.py`` — the payer confirms with the PIN, or declines.
- ``reversal.py`` — 2103 / 2601 from the terminal.
- ``journal.py`` — the ``Payment`` row's moves (compare-and-swap), with their
  audit records, cached balance and pushes to the phone.

Reads (the payer's pending list, the person's records) are in
wallet/selectors.py. Import from the module that defines a name; this package
re-exports nothing (so that payments/tasks.py can import resolve.py while
settle.py imports the task)."""
