#!/usr/bin/env bash
# Installs the Debian packages the project needs, if they are missing:
# PostgreSQL server binaries, redis-server, Chromium and CJK fonts (for the
# browser tests), HAProxy (--test / --bench: two wallet processes behind a
# load balancer), Node.js/npm (for the frontend). Idempotent; does nothing
# when everything is present. Needs root (or sudo) only when installing.
set -euo pipefail

want=()
pg_ok=0
if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_ok=1; fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && pg_ok=1
[ "$pg_ok" = 1 ] || want+=(postgresql)
command -v redis-server >/dev/null || want+=(redis-server)
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || want+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || want+=(fonts-noto-cjk)
fi
# HAProxy: the load balancer in front of two wallet processes (tests/scale, bench/scale_out.py).
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--bench" ]; then
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || want+=(haproxy)
fi
command -v npm >/dev/null || want+=(nodejs npm)

if [ ${#want[@]} -eq 0 ]; then
  exit 0
fi
echo "[system-deps] installing: ${want[*]}"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
# Debian starts a system redis/postgres service on install; the project runs
# its own throwaway servers, so the system ones are not needed.
