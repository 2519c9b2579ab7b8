# shellcheck shell=bash
# The options of deploy.sh and rollback.sh, which source this file and check every option
# before they change anything: durations as Helm and kubectl take them (Go's
# time.ParseDuration), and options given without their value.

# Stop the calling script (named by $0) with status 2, a usage error, when the option in $1
# has no value after it: called with the script's remaining arguments, "$@".
need_value() {
  if (($# < 2)); then
    echo "$(basename "$0"): $1 needs a value" >&2
    exit 2
  fi
}

# Print the whole seconds (rounded down) in a duration made of terms NUMBER UNIT, units h,
# m, s and ms: 90s, 10m, 1h30m, 2m30s, 1500ms; or 0. Anything else (a fraction, a sign, a
# bare number, another unit) prints nothing and returns 1.
duration_seconds() {
  local rest=$1 milliseconds=0 number unit per_unit
  if [[ $rest == 0 ]]; then
    echo 0
    return 0
  fi
  [[ -n $rest ]] || return 1
  while [[ -n $rest ]]; do
    # A unit is the run of letters after the digits (at most 9 of them: no overflow).
    [[ $rest =~ ^([[:digit:]]{1,9})([[:alpha:]]+)(.*)$ ]] || return 1
    number=${BASH_REMATCH[1]}
    unit=${BASH_REMATCH[2]}
    rest=${BASH_REMATCH[3]}
    case "$unit" in
      h) per_unit=3600000 ;;
      m) per_unit=60000 ;;
      s) per_unit=1000 ;;
      ms) per_unit=1 ;;
      *) return 1 ;;
    esac
    # 10#: a leading zero (08m) is not octal.
    milliseconds=$((milliseconds + 10#$number * per_unit))
  done
  echo $((milliseconds / 1000))
}

# Print the seconds in the value of a duration option (OPTION VALUE); a malformed one stops
# the calling script (named by $0) with status 2, a usage error, before it changes anything.
option_seconds() {
  local option=$1 value=$2
  if ! duration_seconds "$value"; then
    echo "$(basename "$0"): $option takes a duration such as 10m, 90s or 1h30m (whole numbers of h, m, s, ms), got '$value'" >&2
    exit 2
  fi
}
