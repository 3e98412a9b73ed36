#!/usr/bin/env bash
# Install everything the tests need, then run the whole test suite. Safe to run again: installs are skipped
# when already there. Used as-is by CI (.ci/run) and by developers (the README's test command).
#
# Besides the Python package, the browser tests (tests/browser/) need, on a Debian machine:
#   - Debian's Chromium (never a browser downloaded by Playwright), Java for the Nu HTML Checker, Node.js and npm;
#   - the checkers pinned in package-lock.json: axe-core, vnu-jar and Lighthouse (npm ci, into node_modules/).
# A missing tool makes those tests fail, never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages, each only when missing (apt-get update only when something is).
apt_missing=()
dpkg -s chromium >/dev/null 2>&1 || apt_missing+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || apt_missing+=(fonts-liberation)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || apt_missing+=(fonts-dejavu-core)
command -v java >/dev/null 2>&1 || apt_missing+=(default-jre-headless)
command -v node >/dev/null 2>&1 || apt_missing+=(nodejs)
command -v npm >/dev/null 2>&1 || apt_missing+=(npm)
if [ "${#apt_missing[@]}" -gt 0 ]; then
    echo "test.sh: installing Debian packages: ${apt_missing[*]}"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${apt_missing[@]}"
fi

# npm packages, exactly as locked; redone only when package-lock.json changed since the last install.
# --ignore-scripts: vnu-jar's postinstall would try to download a Java runtime; Debian's Java is used instead.
stamp=node_modules/.installed-package-lock.json
if ! cmp -s package-lock.json "$stamp"; then
    echo "test.sh: npm ci (axe-core, vnu-jar, lighthouse)"
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    cp package-lock.json "$stamp"
fi

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

python3 -m pytest "$@"  # a progress line per test file; -m "not browser" for the fast tier
