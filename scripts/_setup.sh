# Sourced by the scripts: a repo-local virtualenv with uowgen and its dev tools.
# Safe to run again; pip only installs what is missing.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO/.venv"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
echo "== installing uowgen and its dev dependencies (pinned in pyproject.toml)"
"$VENV/bin/pip" install --quiet --disable-pip-version-check -e "$REPO[${UOWGEN_EXTRAS:-dev}]"

ensure_postgres() {
  # The tests start their own throwaway PostgreSQL; they need its server binaries.
  if command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing PostgreSQL server binaries (apt-get install postgresql)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL server binaries (initdb, pg_ctl) are missing: install the" >&2
    echo "'postgresql' package, or set UOWGEN_SKIP_POSTGRES=1 to skip those tests." >&2
    return 1
  fi
}

ensure_pgbouncer() {
  # The lifecycle scenarios behind PgBouncer in transaction mode start their own.
  if command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing PgBouncer (apt-get install pgbouncer)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
  else
    echo "pgbouncer is missing: install Debian's 'pgbouncer' package, or set" >&2
    echo "UOWGEN_SKIP_POSTGRES=1 to skip the PostgreSQL tests." >&2
    return 1
  fi
}

ensure_chromium() {
  # The admin's browser test drives Debian's chromium with playwright; playwright's
  # own browser builds are never downloaded (this machine may have no internet).
  if [ -x /usr/bin/chromium ]; then
    return 0
  fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium (apt-get install chromium) for the browser test"
    apt-get update -qq
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      && [ -x /usr/bin/chromium ]; then
      return 0
    fi
  fi
  echo "/usr/bin/chromium is missing and could not be installed: install Debian's" >&2
  echo "'chromium' package (as root: apt-get install chromium), or deselect the" >&2
  echo "browser test with -m 'not browser'." >&2
  return 1
}
