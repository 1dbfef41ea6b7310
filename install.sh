#!/usr/bin/env bash
# Installs Iris on Debian/Ubuntu: system packages, then Python packages into ./.venv.
#   bash install.sh          what the assistant needs (speech, audio, clipboard, tray)
#   bash install.sh --test   also the tools the tests use (virtual X server, window manager, xterm, Chromium,
#                            key presses, tray host, Java)
set -euo pipefail
cd "$(dirname "$0")"

pkgs="espeak-ng alsa-utils xclip dbus-x11 libgirepository1.0-dev libcairo2-dev pkg-config gir1.2-gtk-3.0 gir1.2-ayatanaappindicator3-0.1 wordnet-base"
if [ "${1:-}" = "--test" ]; then
  pkgs="$pkgs xvfb xdotool trayer sox openbox xterm chromium fonts-dejavu-core"   # windows with titles, a browser
  command -v npm >/dev/null || pkgs="$pkgs nodejs npm"                             # axe-core, for the web page
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
# torch first, so that requirements.txt's range keeps it: the CUDA build only where an NVIDIA GPU can use it.
# The CPU build is a tenth of the download and keeps about 300 MB less in memory while Iris waits.
# IRIS_TORCH=cpu or IRIS_TORCH=cuda overrides the choice.
torch_build="${IRIS_TORCH:-}"
if [ -z "$torch_build" ]; then
  if command -v nvidia-smi >/dev/null && nvidia-smi -L 2>/dev/null | grep -q GPU; then torch_build=cuda; else torch_build=cpu; fi
fi
case "$torch_build" in
  cpu)  torch_pin="torch==2.13.0" ;;   # the CPU build on this project's machines (see README, "Which torch")
  cuda) torch_pin="torch==2.15.0" ;;   # the registry's regular build, with the CUDA libraries
  *) echo "install.sh: IRIS_TORCH must be cpu or cuda, not '$torch_build'" >&2; exit 2 ;;
esac
echo "install.sh: installing $torch_pin ($torch_build build)"
.venv/bin/python -m pip install -q "$torch_pin"
.venv/bin/python -m pip install -q -r requirements.txt
if [ "${1:-}" = "--test" ]; then     # axe-core checks the web page's accessibility in the tests
  npm install --silent --no-save --no-audit --no-fund --prefix tests/js axe-core@4.14.1 >/dev/null
fi
echo "Iris is installed. Start it with: .venv/bin/python main.py"
