"""Every write of the settlement core. Modules: ``ledger`` (double-entry
postings), ``registry`` (regions, persons, institutions), ``catalogue``,
``policy`` (loading policy versions; the params schema is the engine's),
``settle`` (2001/2101/2102/2103/2601/9101: the split stored as a
``Settlement``), ``sync`` (the wallet's pulls and the reconciliation files),
``transactions`` (envelope handlers), ``envelope`` (auth, msgid idempotency,
dispatch), ``audit``, ``demo``."""
