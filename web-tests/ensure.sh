#!/bin/sh
# Makes the web client's test tools present: the npm packages in
# web-tests/ (playwright-core, typescript, eslint), Debian's chromium, a
# Chinese font and an emoji font (and node and npm if they are missing).
# Safe to run again: it does nothing when everything is there.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
chromium=/usr/bin/chromium

# Installs Debian packages when this is root on a Debian-like system;
# otherwise says exactly what to install and stops.
install_or_explain() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    else
        echo "web-tests/ensure.sh: missing $*; install as root: apt-get install --no-install-recommends $*" >&2
        exit 1
    fi
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    install_or_explain nodejs npm
fi

# The npm packages pinned in package-lock.json: playwright-core for the
# browser, typescript and eslint for checking the client's modules. `npm ls`
# fails when one is missing or not the pinned version.
if ! (cd "$here" && npm ls --depth=0 >/dev/null 2>&1); then
    cd "$here"
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
fi

if [ ! -x "$chromium" ]; then
    install_or_explain chromium
fi

# A Chinese font, so the Chinese pages are drawn (and measured: does a
# button's label fit?) as people see them, not as empty boxes.
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :lang=zh family)" ]; then
    install_or_explain fonts-wqy-microhei
fi

# A colour emoji font, so reactions (emojis written as text, drawn by the
# system's font) show as people see them in the screenshots, not as boxes.
if command -v fc-list >/dev/null 2>&1 && [ -z "$(fc-list :charset=1f44d family)" ]; then
    install_or_explain fonts-noto-color-emoji
fi

if [ ! -x "$chromium" ]; then
    echo "web-tests/ensure.sh: $chromium is still missing after installing; install the chromium package by hand" >&2
    exit 1
fi
