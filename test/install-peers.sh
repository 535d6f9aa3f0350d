#!/usr/bin/env bash
# Installs the Debian packages the tests use as real protocol peers, when they are missing:
#   socat            pseudo-terminal pairs (real serial I/O between our driver and a peer)
#   mbpoll           third-party Modbus master that reads our simulators
#   python3-pymodbus third-party Modbus server our driver reads (used with /usr/bin/python3)
#   python3-serial-asyncio  pymodbus's serial server needs it (python3-pymodbus only recommends it)
#   mosquitto-clients third-party MQTT clients (mosquitto_pub / mosquitto_sub) against our broker
#   mosquitto        a real external broker, run with the password and ACL files the cloud generates
#   postgresql       the scale-out database (tests start a private cluster in a temp dir)
#   chromium         the browser the web UI tests drive with playwright-core (/usr/bin/chromium)
#   fonts-wqy-microhei  a CJK font: without one Chromium draws the zh-CN pages as empty boxes
# Tests never skip when a peer is missing: if this script cannot install one, it fails loudly.
set -euo pipefail

missing=()
command -v socat >/dev/null 2>&1 || missing+=(socat)
command -v mbpoll >/dev/null 2>&1 || missing+=(mbpoll)
/usr/bin/python3 -c 'import pymodbus' >/dev/null 2>&1 || missing+=(python3-pymodbus)
/usr/bin/python3 -c 'import serial_asyncio' >/dev/null 2>&1 || missing+=(python3-serial-asyncio)
command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
[ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
fc-list :lang=zh 2>/dev/null | grep -q . || missing+=(fonts-wqy-microhei)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "test peers missing: ${missing[*]}; installing them with apt-get" >&2
if [ "$(id -u)" -ne 0 ]; then
  echo "ERROR: installing ${missing[*]} needs root (run: sudo apt-get install -y ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; }; then
  echo "ERROR: apt-get could not install ${missing[*]}; the tests that use them cannot run" >&2
  exit 1
fi
echo "installed: ${missing[*]}" >&2
