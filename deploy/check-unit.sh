#!/usr/bin/env bash
# Checks deploy/sanctions-watch.service:
#  1. `systemd-analyze verify` prints nothing (no unknown keys, typos, bad values);
#  2. `systemd-analyze security --offline=yes` rates its exposure <= 2.0;
#  3. the code runs under MemoryDenyWriteExecute= (PR_SET_MDWE, the kernel's own form of it).
# verify insists that ExecStart's binary exists. Where the documented /opt venv is not installed
# (CI, a checkout), the unit is checked as a copy whose /opt/sanctions-watch/venv points at
# this checkout's .venv (or $WATCHER_VENV): the same file, only the install prefix differs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
unit="$here/sanctions-watch.service"
venv="${WATCHER_VENV:-$here/../.venv}"
max_exposure="2.0"
failed=0

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
checked="$tmp/sanctions-watch.service"
if [ -x /opt/sanctions-watch/venv/bin/watcher ]; then
    cp "$unit" "$checked"
else
    venv="$(cd "$venv" && pwd)"
    sed "s#/opt/sanctions-watch/venv#$venv#g" "$unit" >"$checked"
fi

echo "--- systemd-analyze verify"
out="$(cd "$tmp" && systemd-analyze verify --man=no "$checked" 2>&1)" || true
if [ -n "$out" ]; then
    echo "$out"
    echo "FAIL: systemd-analyze verify printed the above"
    failed=1
else
    echo "ok: nothing printed"
fi

echo "--- systemd-analyze security --offline=yes"
sec="$(cd "$tmp" && systemd-analyze security --offline=yes --no-pager "$checked" 2>&1)" || true
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

echo "--- MemoryDenyWriteExecute"
if "$venv/bin/python" "$here/mdwe_check.py"; then
    :
else
    echo "FAIL: the code needs writable+executable memory; drop MemoryDenyWriteExecute="
    failed=1
fi

exit "$failed"
