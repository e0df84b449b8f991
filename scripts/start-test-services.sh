#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 and Redis on loopback for the test suite.
# Usage: eval "$(scripts/start-test-services.sh DIR)"  -> exports DATABASE_URL, REDIS_URL
# Stop with: scripts/stop-test-services.sh DIR
set -euo pipefail
dir=${1:?usage: start-test-services.sh DIR}
mkdir -p "$dir"
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/initdb" ] || { echo "PostgreSQL server binaries not found under /usr/lib/postgresql" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
pg_port=$(free_port)
redis_port=$(free_port)

# PostgreSQL refuses to run as root: the data directory belongs to the postgres user.
as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi
mkdir -p "$dir/pg"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$dir/pg" && chmod 755 "$dir"
"${as_pg[@]}" "$pgbin/initdb" -D "$dir/pg/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$dir/pg/data" -l "$dir/pg/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -c port=$pg_port -c unix_socket_directories=$dir/pg -c max_connections=200 -c fsync=off" start >/dev/null

redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --daemonize yes \
  --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "export DATABASE_URL=postgres://postgres@127.0.0.1:$pg_port/postgres"
echo "export REDIS_URL=redis://127.0.0.1:$redis_port"
