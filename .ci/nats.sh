#!/usr/bin/env bash
# NATS for the many-nodes tests (tests/it/cluster.rs starts its own cluster
# of three `nats-server` processes, on free loopback ports): only the
# binary is needed, from Debian's nats-server package.
set -euo pipefail

if command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; then
  echo "nats-server: $( (command -v nats-server || echo /usr/sbin/nats-server) | head -1)"
  exit 0
fi
apt-get update && apt-get install -y --no-install-recommends nats-server
echo "nats-server installed"
