#!/usr/bin/env bash
# Checks deploy/sanctions-watch.service:
#  1. `systemd-analyze verify` prints nothing (no unknown keys, typos, bad values);
#  2. `systemd-analyze security --offline=yes` rates its exposure <= 2.0;
#  3. the code runs under MemoryDenyWriteExecute= (PR_SET_MDWE, the kernel's own form of it).
# 1 and 2 are checked twice: the unit as shipped, and with its commented PostgreSQL lines
# (After=/Wants=postgresql.service, LoadCredential=db-password) switched on.
# verify insists that ExecStart's binary exists. Where the documented /opt venv is not installed
# (CI, a checkout), the unit is checked as a copy whose /opt/sanctions-watch/venv points at the
# environment sanctions-watch is installed in: $WATCHER_VENV, else the active venv
# ($VIRTUAL_ENV), else this checkout's .venv, else wherever `watcher` on $PATH lives. The same
# file; only the install prefix differs. Runs from any directory.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
unit="$here/sanctions-watch.service"
max_exposure="2.0"
failed=0

find_venv() {
    local candidate
    for candidate in "${WATCHER_VENV:-}" "${VIRTUAL_ENV:-}" "$here/../.venv"; do
        if [ -n "$candidate" ] && [ -x "$candidate/bin/watcher" ]; then
            (cd "$candidate" && pwd)
            return
        fi
    done
    if candidate="$(command -v watcher)"; then
        candidate="$(cd "$(dirname "$candidate")/.." && pwd)"
        if [ -x "$candidate/bin/python" ] || [ -x "$candidate/bin/python3" ]; then
            echo "$candidate"
            return
        fi
    fi
    echo "FAIL: sanctions-watch is not installed where this script looks: set WATCHER_VENV" \
        "to its venv, activate the venv, or put its watcher on PATH" >&2
    exit 2
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
checked="$tmp/sanctions-watch.service"
if [ -x /opt/sanctions-watch/venv/bin/watcher ]; then
    venv=/opt/sanctions-watch/venv
    cp "$unit" "$checked"
else
    venv="$(find_venv)"
    sed "s#/opt/sanctions-watch/venv#$venv#g" "$unit" >"$checked"
fi
python="$venv/bin/python"
[ -x "$python" ] || python="$venv/bin/python3"

check_unit() {  # $1: the unit file to check, $2: what it is (for the output)
    local out sec line exposure
    echo "--- systemd-analyze verify ($2)"
    out="$(cd "$(dirname "$1")" && systemd-analyze verify --man=no "$1" 2>&1)" || true
    if [ -n "$out" ]; then
        echo "$out"
        echo "FAIL: systemd-analyze verify printed the above"
        failed=1
    else
        echo "ok: nothing printed"
    fi

    echo "--- systemd-analyze security --offline=yes ($2)"
    sec="$(cd "$(dirname "$1")" && systemd-analyze security --offline=yes --no-pager "$1" 2>&1)" ||
        true
    line="$(printf '%s\n' "$sec" | grep 'Overall exposure level' || true)"
    exposure="$(printf '%s\n' "$line" | grep -oE '[0-9]+\.[0-9]+' | head -n1)"
    if [ -z "$exposure" ]; then
        printf '%s\n' "$sec"
        echo "FAIL: no exposure level in the output"
        failed=1
    elif awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }'; then
        echo "ok: exposure $exposure <= $max_exposure"
    else
        printf '%s\n' "$sec" | grep -E '^✗' || true
        echo "FAIL: exposure $exposure > $max_exposure"
        failed=1
    fi
}

check_unit "$checked" "as shipped"
# The PostgreSQL variant: the same unit with its commented PostgreSQL lines switched on.
mkdir "$tmp/postgresql"
with_pg="$tmp/postgresql/sanctions-watch.service"
sed -E 's/^#((After|Wants)=postgresql\.service|LoadCredential=db-password:)/\1/' "$checked" >"$with_pg"
if [ "$(grep -cE '^((After|Wants)=postgresql|LoadCredential=db-password)' "$with_pg")" != 3 ]; then
    echo "FAIL: the unit's commented PostgreSQL lines (After=, Wants=, LoadCredential=) are missing"
    failed=1
fi
check_unit "$with_pg" "with the PostgreSQL lines"

echo "--- MemoryDenyWriteExecute"
if "$python" "$here/mdwe_check.py"; then
    :
else
    echo "FAIL: the code needs writable+executable memory; drop MemoryDenyWriteExecute="
    failed=1
fi

exit "$failed"
