#!/usr/bin/env bash
# Install the Debian packages the test suite uses, when missing and when we can.
set -u
want=()
command -v tesseract >/dev/null 2>&1 || want+=(tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd)
[ -x /usr/bin/chromium ] || want+=(chromium)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${want[*]}"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null) \
    || echo "warning: could not install ${want[*]}; the tests that need them will be skipped"
else
  echo "note: ${want[*]} missing (install them with apt-get); the tests that need them will be skipped"
fi
exit 0
