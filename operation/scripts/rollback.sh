#!/usr/bin/env bash
# Manual rollback of phishline: the Helm release to an earlier revision, or Flagger's
# analysis of a canary aborted (every request back on the primary). The drill is in
# docs/kubernetes.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: operation/scripts/rollback.sh [options]

  -r, --release NAME       Helm release (default: phishline)
  -n, --namespace NS       its namespace (default: phishline)
      --revision N         roll back to revision N (default: the previous revision)
      --abort-canary NAME  instead: make Flagger abort the analysis of canary NAME (e.g.
                           phishline-model-service) through its rollback gate; refused
                           unless NAME is under analysis, the gate is closed on any exit
      --tester NS/NAME     Flagger's load tester Deployment that holds the gate
                           (default: flagger/flagger-loadtester)
      --timeout DURATION   how long to wait for the result, e.g. 90s, 1h30m (default: 5m)
      --dry-run            print the commands, run none of them
  -h, --help               this help

`helm history RELEASE -n NS` lists the revisions. Under Flagger, a helm rollback is a
new version to analyse: Flagger promotes it like any other. Aborting a canary keeps the
release as it is; follow it with a helm rollback to make the release match the primary.
USAGE
}

# shellcheck source=options.sh source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/options.sh"

release=phishline
namespace=phishline
revision=""
abort_canary=""
tester=flagger/flagger-loadtester
timeout=5m
dry_run=false

while (($# > 0)); do
  case "$1" in
    -r | --release) need_value "$@"; release=$2; shift 2 ;;
    -n | --namespace) need_value "$@"; namespace=$2; shift 2 ;;
    --revision) need_value "$@"; revision=$2; shift 2 ;;
    --abort-canary) need_value "$@"; abort_canary=$2; shift 2 ;;
    --tester) need_value "$@"; tester=$2; shift 2 ;;
    --timeout) need_value "$@"; timeout=$2; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "rollback.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -n $revision && ! $revision =~ ^[1-9][0-9]*$ ]]; then
  echo "rollback.sh: --revision takes a revision number, got '$revision'" >&2
  exit 2
fi
# Checked before anything opens the gate: kubectl wait would refuse it only after.
option_seconds --timeout "$timeout" >/dev/null
if [[ $tester != */* ]]; then
  echo "rollback.sh: --tester takes NAMESPACE/DEPLOYMENT, got '$tester'" >&2
  exit 2
fi

# Print a command, then run it unless this is a dry run.
run() {
  local line
  line=$(printf '%q ' "$@")
  echo "+ ${line% }"
  if [[ $dry_run == false ]]; then
    "$@"
  fi
}

# POST to the load tester's rollback gate (open or close) for the canary.
gate() {
  local payload
  payload=$(printf '{"name": "%s", "namespace": "%s"}' "$abort_canary" "$namespace")
  run kubectl exec --namespace "${tester%%/*}" "deploy/${tester#*/}" -- \
    curl --silent --show-error --fail --data "$payload" "http://localhost:8080/rollback/$1"
}

# Flagger reads the gate only while it analyses a canary (or waits to promote it); opened at
# any other time, the gate would stay open and roll back the next rollout.
check_under_analysis() {
  local phase
  if [[ $dry_run == true ]]; then
    echo "+ check that canary/$abort_canary is under analysis"
    return 0
  fi
  phase=$(kubectl get "canary/$abort_canary" --namespace "$namespace" --output 'jsonpath={.status.phase}')
  case "$phase" in
    Progressing | Waiting | WaitingPromotion) ;;
    *)
      echo "rollback.sh: canary $abort_canary is ${phase:-in no phase}, not under analysis: the gate stays closed" >&2
      exit 1
      ;;
  esac
}

if [[ -n $abort_canary ]]; then
  check_under_analysis
  gate open
  # Whatever ends the script from here (the wait failing or timing out, Ctrl-C), the gate
  # is closed again; left open it would roll back the next rollout too.
  trap 'echo "rollback.sh: closing the rollback gate of $abort_canary" >&2; gate close' EXIT
  trap 'exit 1' INT TERM HUP
  # Flagger checks the gate at its next interval, routes everything to the primary and
  # marks the canary Failed.
  run kubectl wait "canary/$abort_canary" --namespace "$namespace" \
    --for=jsonpath='{.status.phase}'=Failed --timeout "$timeout"
  trap - EXIT
  gate close
  echo "rollback.sh: the analysis of $abort_canary was aborted; the primary serves every request"
  exit 0
fi

# Without a revision, helm rolls back to the previous one.
run helm rollback "$release" ${revision:+"$revision"} --namespace "$namespace" --wait --timeout "$timeout"
run helm history "$release" --namespace "$namespace" --max 5
