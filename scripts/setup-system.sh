#!/usr/bin/env bash
# Install the system packages gridgeo needs on Debian/Ubuntu, idempotently:
# PostgreSQL with the matching PostGIS package, Chromium for the map tests and
# GDAL's command-line tools for the OGC API tests.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-system: not root and no sudo; install postgresql, postgis and chromium by hand" >&2
    exit 1
  fi
fi

missing=()
need() { dpkg -s "$1" >/dev/null 2>&1 || missing+=("$1"); }
updated=0
apt_install() {
  [ "$#" -eq 0 ] && return 0
  if [ "$updated" -eq 0 ]; then $SUDO apt-get update -qq; updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: apt-get not found; this script supports Debian and Ubuntu" >&2
  exit 1
fi

need postgresql
need postgresql-contrib
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then need python3-venv; fi
apt_install "${missing[@]+"${missing[@]}"}"
missing=()

major=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
need "postgresql-${major}-postgis-3"
if ! command -v chromium >/dev/null 2>&1; then need chromium; fi
need fonts-wqy-microhei  # CJK glyphs in headless screenshots
need gdal-bin  # ogrinfo/ogr2ogr: the OGC API tests open the API as QGIS does (OAPIF driver)
apt_install "${missing[@]+"${missing[@]}"}"

# Debian's package starts a system-wide cluster; gridgeo runs its own and
# does not need that one.
echo "setup-system: PostgreSQL ${major} with PostGIS, Chromium and GDAL are installed"
