# The dashboard's browser tests drive Debian's Chromium through Playwright for Python
# (`playwright install` downloads browsers and is never used). Sourced by .ci/run.
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
export BATON_TEST_CHROMIUM="$(command -v chromium)"
