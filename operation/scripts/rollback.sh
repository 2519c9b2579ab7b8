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
                           phishline-model-service) through its rollback gate
      --tester NS/NAME     Flagger's load tester Deployment that holds the gate
                           (default: flagger/flagger-loadtester)
      --timeout DURATION   how long to wait for the result (default: 5m)
      --dry-run            print the commands, run none of them
  -h, --help               this help

`helm history RELEASE -n NS` lists the revisions. Under Flagger, a helm rollback is a
new version to analyse: Flagger promotes it like any other. Aborting a canary keeps the
release as it is; follow it with a helm rollback to make the release match the primary.
USAGE
}

release=phishline
namespace=phishline
revision=""
abort_canary=""
tester=flagger/flagger-loadtester
timeout=5m
dry_run=false

while (($# > 0)); do
  case "$1" in
    -r | --release) release=$2; shift 2 ;;
    -n | --namespace) namespace=$2; shift 2 ;;
    --revision) revision=$2; shift 2 ;;
    --abort-canary) abort_canary=$2; shift 2 ;;
    --tester) tester=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "rollback.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

if [[ -n $revision && ! $revision =~ ^[1-9][0-9]*$ ]]; then
  echo "rollback.sh: --revision takes a revision number, got '$revision'" >&2
  exit 2
fi
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

if [[ -n $abort_canary ]]; then
  gate open
  # Flagger checks the gate at its next interval, routes everything to the primary and
  # marks the canary Failed; the gate is then closed again for the next rollout.
  run kubectl wait "canary/$abort_canary" --namespace "$namespace" \
    --for=jsonpath='{.status.phase}'=Failed --timeout "$timeout"
  gate close
  echo "rollback.sh: the analysis of $abort_canary was aborted; the primary serves every request"
  exit 0
fi

# Without a revision, helm rolls back to the previous one.
run helm rollback "$release" ${revision:+"$revision"} --namespace "$namespace" --wait --timeout "$timeout"
run helm history "$release" --namespace "$namespace" --max 5
