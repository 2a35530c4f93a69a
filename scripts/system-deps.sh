#!/usr/bin/env bash
# Install the Debian packages the test suite uses, when missing and when we can:
# tesseract (OCR tests), the English word list (wamerican: line-end hyphens),
# Chromium (the portal's browser tests), Node (the docs' JavaScript verification
# example). Outside CI a package we cannot install only means its tests are skipped
# (and named at the end of the run); under CI=true it is an error, since CI must run
# every test.
set -u
want=()
command -v tesseract >/dev/null 2>&1 || want+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd)
[ -e /usr/share/dict/words ] || want+=(wamerican)
[ -x /usr/bin/chromium ] || want+=(chromium)
command -v node >/dev/null 2>&1 || want+=(nodejs)
[ ${#want[@]} -eq 0 ] && exit 0

fail_or_note() {
  if [ "${CI:-}" = "true" ]; then
    echo "CI=true: $1; the tests that need them cannot run" >&2
    exit 1
  fi
  echo "note: $1; the tests that need them will be skipped"
  exit 0
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${want[*]}"
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null); then
    fail_or_note "could not install ${want[*]}"
  fi
else
  fail_or_note "${want[*]} missing (install them with apt-get as root)"
fi
exit 0
