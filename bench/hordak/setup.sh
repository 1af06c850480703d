#!/bin/sh
# Create the virtualenv of the hordak reference (benchmark 7) under var/, from the pinned
# requirements beside this file; a second run only checks it. Usage: sh bench/hordak/setup.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
venv=${HORDAK_VENV:-$root/var/bench-hordak-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
    echo "$want" > "$stamp"
fi
echo "$venv"
