"""Every write of the settlement core. Modules: ``ledger`` (double-entry
postings), ``registry`` (regions, persons, institutions), ``catalogue``,
``policy`` (parameter schema and loading), ``transactions`` (envelope
handlers), ``envelope`` (auth, msgid idempotency, dispatch), ``demo``."""
