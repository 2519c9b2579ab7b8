#!/usr/bin/env bash
# Deploy (install or upgrade) the phishline chart, wait for the rollout, verify it, and roll
# back to the last good revision when any step fails. docs/kubernetes.md explains the flow.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: operation/scripts/deploy.sh [options]

  -r, --release NAME     Helm release (default: phishline)
  -n, --namespace NS     namespace, created when missing (default: phishline)
  -f, --values FILE      a values file (repeatable)
      --set KEY=VALUE    a value (repeatable; printed as KEY=REDACTED for secrets.*)
      --chart PATH       the chart: a directory or a packaged .tgz, e.g. the one attached
                         to a GitHub Release (default: operation/helm/phishline of this
                         repository)
      --timeout DURATION how long each wait may take (default: 10m; with --canary 30m:
                         the app's blue/green analysis alone takes its 10 intervals plus
                         promotion, 13m or so with the chart's defaults)
      --canary           Flagger mode: sets canary.enabled=true and follows Flagger's
                         analysis of every canary of the release instead of running
                         `helm test` (also done, without the --set, when the values
                         already enable canary)
      --settle DURATION  with --canary: a canary still untouched after this long had no
                         new version to analyse (default: 2m, two analysis intervals)
      --skip-tests       do not run `helm test` after the rollout
      --dry-run          print the commands, run none of them
  -h, --help             this help

A DURATION is whole numbers of h, m, s or ms, in Helm's notation: 90s, 45m, 1h30m.

Without --canary: helm upgrade --install --wait, then `helm test` (the acceptance test);
if either fails, helm rollback to the last deployed revision. With --canary: helm upgrade,
then follow the Canary objects until Flagger has promoted each new version (on a first
install Flagger only initializes them: nothing to analyse); if Flagger rolls one back (or
the timeout passes), helm rollback too, so that the release describes what runs.
EOF
}

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=options.sh source-path=SCRIPTDIR
source "$script_dir/options.sh"
release=phishline
namespace=phishline
chart="$script_dir/../helm/phishline"
timeout=""
settle=2m
canary=false
skip_tests=false
dry_run=false
value_args=()

while (($# > 0)); do
  case "$1" in
    -r | --release) need_value "$@"; release=$2; shift 2 ;;
    -n | --namespace) need_value "$@"; namespace=$2; shift 2 ;;
    -f | --values) need_value "$@"; value_args+=(--values "$2"); shift 2 ;;
    --set) need_value "$@"; value_args+=(--set "$2"); shift 2 ;;
    --chart) need_value "$@"; chart=$2; shift 2 ;;
    --timeout) need_value "$@"; timeout=$2; shift 2 ;;
    --canary) canary=true; shift ;;
    --settle) need_value "$@"; settle=$2; shift 2 ;;
    --skip-tests) skip_tests=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "deploy.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

# Without --timeout, and if a release turns out to be under Flagger anyway (see below), its
# analysis gets the --canary default.
timeout_given=${timeout:+true}
if [[ $canary == true ]]; then
  timeout=${timeout:-30m}
  # Last, so that it wins over the values files: without Canary objects there would be
  # nothing to follow, and the deployment would pass unchecked.
  value_args+=(--set canary.enabled=true)
else
  timeout=${timeout:-10m}
fi

# Every duration is checked (and converted) now: a malformed one stops the script before it
# changes anything, not halfway through the wait it was meant to bound.
timeout_seconds=$(option_seconds --timeout "$timeout")
settle_seconds=$(option_seconds --settle "$settle")

# Print a command, then run it unless this is a dry run. The printed line goes to CI logs:
# a --set that gives a secrets.* value is printed with its values as REDACTED.
run() {
  local line arg after_set=false shown=()
  for arg in "$@"; do
    if [[ $after_set == true && ($arg == secrets.* || $arg == *,secrets.*) ]]; then
      arg="${arg%%=*}=REDACTED"
    fi
    after_set=false
    if [[ $arg == --set ]]; then
      after_set=true
    fi
    shown+=("$arg")
  done
  line=$(printf '%q ' "${shown[@]}")
  echo "+ ${line% }"
  if [[ $dry_run == false ]]; then
    "$@"
  fi
}

# The newest revision whose status is "deployed": what a failed step returns to. None for a
# first install: `helm history` then fails with "release: not found".
last_deployed_revision() {
  local history
  if ! history=$(helm history "$release" --namespace "$namespace" --max 20 --output yaml 2>&1); then
    if [[ $history == *"release: not found"* ]]; then
      return 0
    fi
    echo "deploy.sh: cannot read the history of $release: $history" >&2
    return 1
  fi
  awk '$1 == "revision:" { revision = $2 } $1 == "status:" && $2 == "deployed" { last = revision } END { print last }' <<<"$history"
}

roll_back() {
  local reason=$1
  echo "deploy.sh: $reason" >&2
  if [[ -z $previous ]]; then
    echo "deploy.sh: no earlier deployed revision of $release to roll back to" >&2
  else
    echo "deploy.sh: rolling $release back to revision $previous" >&2
    # Called as `cmd || roll_back`, where set -e does not apply: a failed rollback is said here.
    if run helm rollback "$release" "$previous" --namespace "$namespace" --wait --timeout "$timeout"; then
      echo "deploy.sh: $release is back at revision $previous" >&2
    else
      echo "deploy.sh: the rollback to revision $previous failed too; $release needs a person" \
        "(helm history $release --namespace $namespace)" >&2
    fi
  fi
  exit 1
}

# Whether the release's values (all of them, as Helm computed them for the new revision)
# enable canary, i.e. Flagger: status 0 yes, 1 no, 2 unknown. `helm get values -o yaml`
# writes top-level keys at the start of the line and their children two spaces in.
flagger_in_values() {
  local values
  values=$(helm get values "$release" --namespace "$namespace" --all --output yaml) || return 2
  awk '/^[^[:space:]#-]/ { in_canary = ($0 == "canary:") }
    in_canary && $0 == "  enabled: true" { found = 1 }
    END { exit !found }' <<<"$values"
}

# Follow Flagger: a canary that changed phase since the upgrade is done when Succeeded (or
# Initialized: a first install, whose version Flagger made the primary without analysis) and
# fails the deployment when Failed; one unchanged after the settle time had nothing new.
# Nothing else counts as done: when kubectl cannot list the canaries, lists none, or gives
# a time it cannot be compared with, the check is repeated until the timeout, and then the
# release is rolled back like on any other failure.
follow_canaries() {
  local started=$1 started_utc=$2 deadline settle_until now listing problem name phase changed pending
  deadline=$((started + timeout_seconds))
  settle_until=$((started + settle_seconds))
  while true; do
    now=$(date +%s)
    pending=0
    problem=""
    if ! listing=$(kubectl get canary --namespace "$namespace" --selector "app.kubernetes.io/instance=$release" \
      --output jsonpath='{range .items[*]}{.metadata.name} {.status.phase} {.status.lastTransitionTime}{"\n"}{end}'); then
      problem="kubectl could not list the canaries of $release"
    elif [[ -z $listing ]]; then
      problem="no Canary of $release in $namespace"
    else
      while read -r name phase changed; do
        [[ -n $name ]] || continue
        # Kubernetes writes the time as RFC 3339 in UTC (2026-11-28T16:17:42Z); its digits
        # compare as a number with the start's, without GNU date.
        if [[ -n $changed && ! $changed =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]; then
          problem="canary $name changed phase at an unreadable time '$changed'"
        elif [[ -n $changed ]] && ((10#${changed//[!0-9]/} >= 10#$started_utc)); then
          case "$phase" in
            Succeeded | Initialized) ;;
            Failed) roll_back "Flagger rolled $name back (kubectl -n $namespace describe canary $name)" ;;
            *) pending=$((pending + 1)) ;;
          esac
        elif ((now < settle_until)); then
          pending=$((pending + 1))
        fi
      done <<<"$listing"
    fi
    if [[ -z $problem ]] && ((pending == 0)); then
      return 0
    fi
    if ((now >= deadline)); then
      roll_back "Flagger has not finished within $timeout${problem:+ ($problem)}"
    fi
    echo "deploy.sh: ${problem:-$pending canary analyses under way}"
    sleep 10
  done
}

previous=""
if [[ $dry_run == false ]]; then
  previous=$(last_deployed_revision) || exit 1
fi

# The start, in seconds and as the digits of a UTC RFC 3339 time (as Kubernetes writes them).
started=$(date +%s)
started_utc=$(date -u +%Y%m%d%H%M%S)
run helm upgrade "$release" "$chart" --install --namespace "$namespace" --create-namespace \
  --wait --timeout "$timeout" "${value_args[@]}" ||
  roll_back "the upgrade or its rollout failed"

# Check the new version. `verified` is set last, inside the same function: bash abandons a
# command whose arithmetic expansion fails (and the function it is in) without `set -e`
# stopping the script, and such an error must not end in "deployed".
verified=false
verify() {
  local status=0
  # A values file may enable canary without --canary. Flagger then rolls the new version
  # out by itself; `helm test` right after the upgrade would check the old primary, or
  # nothing yet on a first install: follow Flagger as --canary does.
  if [[ $canary == false && $skip_tests == false && $dry_run == false ]]; then
    flagger_in_values || status=$?
    case $status in
      0)
        echo "deploy.sh: the values of $release enable canary: following Flagger as with --canary"
        canary=true
        if [[ -z $timeout_given ]]; then
          timeout=30m
          timeout_seconds=$(duration_seconds "$timeout")
        fi
        ;;
      1) ;;
      *) roll_back "cannot read the values of $release: no way to tell how to check it" ;;
    esac
  fi
  if [[ $canary == true ]]; then
    echo "+ follow the canaries of $release until Flagger promotes or rolls back (timeout $timeout)"
    if [[ $dry_run == false ]]; then
      follow_canaries "$started" "$started_utc"
    fi
  elif [[ $skip_tests == false ]]; then
    run helm test "$release" --namespace "$namespace" --timeout "$timeout" ||
      roll_back "the acceptance test failed"
  fi
  verified=true
}
verify
if [[ $verified != true ]]; then
  roll_back "the check of the new version stopped on an error (above)"
fi
if [[ $dry_run == true ]]; then
  echo "deploy.sh: dry run, nothing was changed"
else
  echo "deploy.sh: $release is deployed in $namespace"
fi
