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

# /readyz reports "degraded" when the oldest pending outbox row is older.
READYZ_OUTBOX_MAX_AGE_SECONDS = env_int("READYZ_OUTBOX_MAX_AGE_SECONDS", 600)

DEMO_SEED = env_int("DEMO_SEED", 20260101)
