#!/bin/sh
# Installs the system packages the maps and the report test need, when they are
# missing: a CJK font (fonts-noto-cjk) so Chinese labels render, Debian's
# Chromium + ChromeDriver for the headless-browser test of report.html, and
# Debian's QGIS (python3-qgis, qgis-providers) for the test that opens plan.gpkg.
# Idempotent; does nothing when everything is present or apt-get is unavailable.
set -e
need=""
fc-list :lang=zh 2>/dev/null | grep -q . || need="$need fonts-noto-cjk"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
command -v chromedriver >/dev/null 2>&1 || need="$need chromium-driver"
/usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || need="$need python3-qgis qgis-providers"
[ -z "$need" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install$need (no apt-get); maps may lack Chinese glyphs and the browser and QGIS tests will skip" >&2
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
echo "installing system packages:$need" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $need >/dev/null
