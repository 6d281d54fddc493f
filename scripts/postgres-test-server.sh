#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite, on loopback only.
#
#   export TEST_DATABASE_URL="$(bash scripts/postgres-test-server.sh)"   # start (or find) it
#   bash scripts/postgres-test-server.sh stop                            # stop it
#
# - Installs PostgreSQL from Debian's packages when no server binaries are found
#   (`apt-get update` once, then `apt-get install -y postgresql`).
# - initdb into `.tools/postgres/` (as root: /var/tmp/chime-postgres-<checkout hash>; override with
#   CHIME_PG_DIR), trust auth, listening on 127.0.0.1
#   only, on a free port (kept across runs while it is free), durability switched off for speed.
# - As root it runs the server as the `postgres` system user (PostgreSQL refuses to run as root).
# - Idempotent: a server already running from that directory is reused.
# - Quiet: the URL is the last (only) line on stdout; details go to `.tools/postgres/server.log` and
#   `.tools/postgres/setup.log`, whose tail is printed on stderr only when something fails.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
# As root the server runs as `postgres`, which may not traverse the checkout's parents (a private
# temp dir, a home directory): keep its files under /var/tmp then, one directory per checkout.
if [ "$(id -u)" = 0 ]; then
  default_root="/var/tmp/chime-postgres-$(printf %s "$repo" | sha256sum | cut -c1-12)"
else
  default_root="$repo/.tools/postgres"
fi
root="${CHIME_PG_DIR:-$default_root}"
data="$root/data"
setup_log="$root/setup.log"
server_log="$root/server.log"
port_file="$root/port"

mkdir -p "$root"
: >"$setup_log"

fail() {
  echo "postgres-test-server: $*" >&2
  if [ -s "$setup_log" ]; then tail -n 20 "$setup_log" >&2; fi
  if [ -s "$server_log" ]; then tail -n 20 "$server_log" >&2; fi
  exit 1
}

find_bindir() {
  local candidate
  # Debian keeps the server binaries out of PATH, under /usr/lib/postgresql/<major>/bin.
  candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [ -n "$candidate" ] && [ -x "$candidate/pg_ctl" ] && [ -x "$candidate/initdb" ]; then
    echo "$candidate"
    return 0
  fi
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return 0
  fi
  return 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"; else return 1; fi
}

bindir="$(find_bindir || true)"
if [ -z "$bindir" ]; then
  {
    as_root apt-get update -qq &&
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql
  } >>"$setup_log" 2>&1 || fail "could not install PostgreSQL from Debian's packages"
  bindir="$(find_bindir || true)"
  [ -n "$bindir" ] || fail "PostgreSQL was installed but no pg_ctl/initdb was found"
fi

# PostgreSQL will not run as root: use the `postgres` system user the Debian package creates.
run_as=()
if [ "$(id -u)" -eq 0 ]; then
  if ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir "$root" --shell /usr/sbin/nologin postgres >>"$setup_log" 2>&1 ||
      fail "could not create the postgres system user"
  fi
  chown postgres "$root"
  touch "$server_log" && chown postgres "$server_log"
  if command -v runuser >/dev/null 2>&1; then run_as=(runuser -u postgres --); else run_as=(su postgres -s /bin/sh -c '"$0" "$@"'); fi
fi
pg() { "${run_as[@]}" "$@"; }

url_for() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }

port_is_free() {
  node -e '
    const s = require("node:net").createServer();
    s.once("error", () => process.exit(1));
    s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close(() => process.exit(0)));
  ' "$1" 2>/dev/null
}

free_port() {
  node -e '
    const s = require("node:net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
  '
}

if [ "${1:-start}" = "stop" ]; then
  if [ -f "$data/PG_VERSION" ]; then
    pg "$bindir/pg_ctl" -D "$data" -m fast -w stop >>"$setup_log" 2>&1 || true
  fi
  exit 0
fi

# Already running from this directory: reuse it.
if [ -f "$data/PG_VERSION" ] && [ -f "$port_file" ] && pg "$bindir/pg_ctl" -D "$data" status >>"$setup_log" 2>&1; then
  port="$(cat "$port_file")"
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 5 >>"$setup_log" 2>&1; then
    url_for "$port"
    exit 0
  fi
fi

if [ ! -f "$data/PG_VERSION" ]; then
  rm -rf "$data"
  mkdir -p "$data"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$data"; fi
  pg "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >>"$setup_log" 2>&1 ||
    fail "initdb failed"
fi

port=""
if [ -f "$port_file" ] && port_is_free "$(cat "$port_file")"; then port="$(cat "$port_file")"; fi
[ -n "$port" ] || port="$(free_port)"
echo "$port" >"$port_file"

# Loopback only; socket in our own directory; durability off (a test server) and room for many
# parallel test files, each with its own database and pool.
opts="-p $port -k $root -c listen_addresses=127.0.0.1 -c max_connections=400 -c fsync=off"
opts="$opts -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=64MB"
pg "$bindir/pg_ctl" -D "$data" -l "$server_log" -o "$opts" -w -t 60 start >>"$setup_log" 2>&1 ||
  fail "the server did not start"

for _ in $(seq 1 60); do
  if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -t 1 >>"$setup_log" 2>&1; then
    url_for "$port"
    exit 0
  fi
  sleep 0.5
done
fail "the server did not become ready on 127.0.0.1:$port"
