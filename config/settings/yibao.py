"""Settings of the wallet's own domains."""

from .base import PRODUCTION
from .env import env_int, env_str

# Where the settlement core answers. In development `make run` starts the core
# reference service as its own process on PORT+1.
SETTLEMENT_CORE_URL = env_str("SETTLEMENT_CORE_URL") if PRODUCTION else env_str(
    "SETTLEMENT_CORE_URL", "http://127.0.0.1:8001/core"
)
SETTLEMENT_CORE_TIMEOUT = float(env_int("SETTLEMENT_CORE_TIMEOUT_MS", 5000)) / 1000
SETTLEMENT_CORE_RETRIES = env_int("SETTLEMENT_CORE_RETRIES", 2)

# Terminal gateway: a request's x-tif-timestamp may differ from our clock by at
# most this many seconds; nonces are remembered for twice as long.
GATEWAY_CLOCK_SKEW_SECONDS = env_int("GATEWAY_CLOCK_SKEW_SECONDS", 300)
# A terminal request's msgid is "in progress" for at most this long after its
# process last renewed it (common/leases.py: every fifth of it while the
# request runs): a row left processing by a process that died is then taken
# over by the retry. Short, so a wallet killed mid-request holds its
# terminals on 1006 for seconds, not minutes (issue #21 item 8).
GATEWAY_PROCESSING_LEASE_SECONDS = env_int("GATEWAY_PROCESSING_LEASE_SECONDS", 15)
# The receiver's admdvs that begins each envelope answer's inf_refmsgid
# (admdvs 6 + yyyyMMddHHmmss 14 + sequence 10): the wallet's gateway, the core.
GATEWAY_ADMDVS = env_str("GATEWAY_ADMDVS", "440100")
CORE_ADMDVS = env_str("CORE_ADMDVS", "440100")

# /readyz reports "degraded" when the oldest pending outbox row is older.
READYZ_OUTBOX_MAX_AGE_SECONDS = env_int("READYZ_OUTBOX_MAX_AGE_SECONDS", 600)

DEMO_SEED = env_int("DEMO_SEED", 20260101)

# --- activation (accounts/) ---------------------------------------------------
# App sessions: bearer tokens, stored hashed.
LOGIN_SESSION_TTL_SECONDS = env_int("LOGIN_SESSION_TTL_SECONDS", 12 * 3600)
WS_TICKET_TTL_SECONDS = env_int("WS_TICKET_TTL_SECONDS", 60)
ACTIVATION_TTL_SECONDS = env_int("ACTIVATION_TTL_SECONDS", 15 * 60)

# Rate limits on real-name and liveness (docs/subsystems/activation.md). The
# "per ID" limits count per (ID number, login): a stranger typing someone's ID
# number spends only the stranger's own allowance, never the person's.
REALNAME_LIMIT_PER_LOGIN = env_int("REALNAME_LIMIT_PER_LOGIN", 10)  # attempts per hour
REALNAME_LIMIT_PER_ID = env_int("REALNAME_LIMIT_PER_ID", 5)  # attempts per (ID, login) per day
REALNAME_FAILURES_PER_IP = env_int("REALNAME_FAILURES_PER_IP", 20)  # registry refusals per client address per hour
LIVENESS_LIMIT_PER_LOGIN = env_int("LIVENESS_LIMIT_PER_LOGIN", 10)  # per hour
LIVENESS_LIMIT_PER_ID = env_int("LIVENESS_LIMIT_PER_ID", 20)  # per (person, login) per day

# Liveness provider. "simulator" runs inside the dev server at /liveness-sim/
# and signs results with Ed25519; a vendor adapter would take its place.
LIVENESS_PROVIDER = env_str("LIVENESS_PROVIDER", "simulator")
LIVENESS_SESSION_TTL_SECONDS = min(env_int("LIVENESS_SESSION_TTL_SECONDS", 300), 300)
LIVENESS_MIN_SCORE = env_int("LIVENESS_MIN_SCORE", 80)  # face-match score 0..100
# The simulator's private key (32 raw bytes, urlsafe base64) and the public key
# the wallet trusts. In development both derive from a fixed demo seed.
LIVENESS_SIM_PRIVATE_KEY = env_str("LIVENESS_SIM_PRIVATE_KEY", "" if PRODUCTION else
                                   "ZGV2LW9ubHktbGl2ZW5lc3Mtc2ltdWxhdG9yLWtleSE=")
LIVENESS_PROVIDER_PUBLIC_KEY = env_str("LIVENESS_PROVIDER_PUBLIC_KEY", "")

# Payment PIN.
PIN_MAX_FAILURES = env_int("PIN_MAX_FAILURES", 5)
PIN_LOCK_SECONDS = env_int("PIN_LOCK_SECONDS", 24 * 3600)

# --- rotating voucher codes (codes/format.py) -----------------------------------
CODE_STEP_SECONDS = env_int("CODE_STEP_SECONDS", 30)  # a new code every step
# A code is accepted in its own step and the next one: at most 2 steps (60 s).
CODE_ACCEPT_STEPS = 2
ECTOKEN_TTL_SECONDS = env_int("ECTOKEN_TTL_SECONDS", 600)

# --- paying at the counter (payments/services/) ----------------------------
# The phone confirms with the PIN when the personal-account part exceeds this (fen).
PAYMENT_CONFIRM_THRESHOLD_FEN = env_int("PAYMENT_CONFIRM_THRESHOLD_FEN", 20000)
PAYMENT_CONFIRM_TTL_SECONDS = env_int("PAYMENT_CONFIRM_TTL_SECONDS", 180)
# How long a cached balance is shown as current before it is re-read.
BALANCE_CACHE_SECONDS = env_int("BALANCE_CACHE_SECONDS", 60)
# A payment left "unknown" this long (the terminal went away) is resolved by a worker.
PAYMENT_RESOLVE_AFTER_SECONDS = env_int("PAYMENT_RESOLVE_AFTER_SECONDS", 60)

# --- family bindings (family/, docs/subsystems/family.md) ------------------------------
FAMILY_MAX_RELATIVES = env_int("FAMILY_MAX_RELATIVES", 5)  # relatives on one binder's list (not ended)
FAMILY_MAX_BINDERS = env_int("FAMILY_MAX_BINDERS", 3)  # binders of one relative (not ended)
FAMILY_INVITATION_TTL_HOURS = env_int("FAMILY_INVITATION_TTL_HOURS", 24)
# Under this age on the day: a guardian binds (commitment, no face); on the birthday itself: liveness.
FAMILY_GUARDIAN_MAX_AGE = env_int("FAMILY_GUARDIAN_MAX_AGE", 16)
FAMILY_BIND_LIMIT_PER_BINDER_PER_DAY = env_int("FAMILY_BIND_LIMIT_PER_BINDER_PER_DAY", 10)
FAMILY_BIND_LIMIT_PER_RELATIVE_ID_PER_DAY = env_int("FAMILY_BIND_LIMIT_PER_RELATIVE_ID_PER_DAY", 5)
# Mutual aid: a revocation answers after the payments already carrying it have an outcome (bounded).
MULAID_REVOKE_WAIT_SECONDS = env_int("MULAID_REVOKE_WAIT_SECONDS", 15)
# Mutual aid at settle time: an authorisation whose event the core has not received yet is relayed at once
# (bounded); if it cannot be, the bill is settled without mutual aid (docs/subsystems/family.md).
MULAID_DELIVER_WAIT_SECONDS = env_int("MULAID_DELIVER_WAIT_SECONDS", 3)

# --- sync with the core (settlement/) --------------------------------------------------
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12)  # then dead-lettered
OUTBOX_BACKOFF_BASE_SECONDS = env_int("OUTBOX_BACKOFF_BASE_SECONDS", 2)
OUTBOX_BACKOFF_MAX_SECONDS = env_int("OUTBOX_BACKOFF_MAX_SECONDS", 600)
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 60)  # a dead worker's claim expires after this
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 500)  # messages per call to the core (1 = no batching; ≤ 500, 9201 MAX_EVENTS)
OUTBOX_RELAY_BUDGET_SECONDS = env_int("OUTBOX_RELAY_BUDGET_SECONDS", 20)  # then the task re-enqueues itself
OUTBOX_KEEP_SENT_DAYS = env_int("OUTBOX_KEEP_SENT_DAYS", 7)
PULL_BATCH_SIZE = env_int("PULL_BATCH_SIZE", 500)
