#!/usr/bin/env bash
# Installs Iris on Debian/Ubuntu: system packages, then Python packages into ./.venv.
#   bash install.sh          what the assistant needs (speech, audio, clipboard, tray)
#   bash install.sh --test   also the tools the tests use (virtual X server, key presses, tray host, Java)
set -euo pipefail
cd "$(dirname "$0")"

pkgs="espeak-ng alsa-utils xclip dbus-x11 libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1"
if [ "${1:-}" = "--test" ]; then
  pkgs="$pkgs xvfb xdotool trayer sox"
  command -v java >/dev/null || pkgs="$pkgs default-jre-headless"   # METEOR runs on Java
fi
if command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
else
  echo "install.sh: no apt-get here; install these yourself: $pkgs" >&2
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
echo "Iris is installed. Start it with: .venv/bin/python main.py"
