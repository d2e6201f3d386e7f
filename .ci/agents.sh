# shellcheck shell=bash
# Install the pinned coding-agent CLIs (claude, codex, copilot, gemini) and the ACP adapters
# of claude and codex (claude-agent-acp, codex-acp; gemini and copilot speak ACP themselves
# with --acp) into .tools/npm.
#
# Sourced by .ci/run (and by developers: `source .ci/agents.sh`). Idempotent: when every
# pinned version is already installed nothing is downloaded. Exports PATH with the CLIs'
# bin folder first and COPILOT_PKG_CACHE_HOME (copilot unpacks ~235 MB on first run).
#
# Pins are the versions measured in shared/protocols.md. claude-code 2.1.330 declares
# node >= 22 but ships a native binary that ignores the system node, so it is installed
# with --engine-strict=false (a plain install on Node 20 would fall back to 2.1.197).

BATON_AGENT_PINS=(
  "@anthropic-ai/claude-code@2.1.330"
  "@openai/codex@0.169.0"
  "@github/copilot@1.0.102"
  "@google/gemini-cli@0.61.0"
  "@agentclientprotocol/claude-agent-acp@0.101.0"
  "@zed-industries/codex-acp@0.16.0"
)
BATON_NPM_PREFIX="$PWD/.tools/npm"

_baton_installed_version() {
  # $1 = package name; prints the installed version or nothing
  local manifest="$BATON_NPM_PREFIX/node_modules/$1/package.json"
  [ -f "$manifest" ] || return 0
  node -e 'process.stdout.write(require(process.argv[1]).version || "")' "$manifest" 2>/dev/null
}

_baton_install_agents() {
  local missing=() pin name want have
  for pin in "${BATON_AGENT_PINS[@]}"; do
    name="${pin%@*}"
    want="${pin##*@}"
    have="$(_baton_installed_version "$name")"
    if [ "$have" != "$want" ]; then
      missing+=("$pin")
    fi
  done
  if [ "${#missing[@]}" -eq 0 ]; then
    echo "agents.sh: agent CLIs already installed (${BATON_AGENT_PINS[*]})"
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "agents.sh: npm not found; install Node.js >= 20 to run the CLI agent tests" >&2
    return 1
  fi
  mkdir -p "$BATON_NPM_PREFIX"
  [ -f "$BATON_NPM_PREFIX/package.json" ] || echo '{"private": true}' >"$BATON_NPM_PREFIX/package.json"
  echo "agents.sh: installing ${missing[*]}"
  npm install --prefix "$BATON_NPM_PREFIX" --no-audit --no-fund --engine-strict=false \
    --loglevel=error "${missing[@]}" || {
      echo "agents.sh: npm install failed for ${missing[*]}" >&2
      return 1
    }
}

_baton_install_agents || echo "agents.sh: continuing without some agent CLIs" >&2

export PATH="$BATON_NPM_PREFIX/node_modules/.bin:$PATH"
export COPILOT_PKG_CACHE_HOME="${COPILOT_PKG_CACHE_HOME:-$PWD/.tools/copilot-pkg}"
mkdir -p "$COPILOT_PKG_CACHE_HOME"
unset -f _baton_installed_version _baton_install_agents
