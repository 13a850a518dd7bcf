#!/usr/bin/env bash
# Makes sure a Redis answers on 127.0.0.1:6379 (the tests' default), starting a
# throwaway one (nothing on disk) when none does.
set -euo pipefail
host=127.0.0.1 port=6379

answers() {
  exec 3<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  local reply=''
  read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ "$reply" == +PONG* ]]
}

answers && exit 0
if ! command -v redis-server >/dev/null 2>&1; then
  echo "no Redis answers on $host:$port and redis-server is not installed (apt-get install redis-server)" >&2
  exit 1
fi
redis-server --daemonize yes --bind "$host" --port "$port" --save '' --appendonly no \
  --dir "${TMPDIR:-/tmp}" --logfile "${TMPDIR:-/tmp}/arbiter-test-redis.log"
for _ in $(seq 1 50); do answers && exit 0; sleep 0.1; done
echo "redis-server did not come up on $host:$port" >&2
exit 1
