#!/usr/bin/env bash
# Soaks the test suite: N rounds, each running COPIES (default 2) copies of the already-built
# test binaries at once, as a busy CI machine does, to find the tests that fail under load.
#
#   bash scripts/soak-tests.sh N [cargo test selection ...] [-- test binary arguments ...]
#
#   bash scripts/soak-tests.sh 10                              # the whole workspace
#   bash scripts/soak-tests.sh 5 --test webhooks --test e2e    # only these test targets
#   bash scripts/soak-tests.sh 5 --test webhooks -- postgres:: # only tests whose name matches
#   SOAK_COPIES=3 bash scripts/soak-tests.sh 4                 # three copies at once
#
# The binaries are built once, by `scripts/test.sh --no-run` (which also brings PostgreSQL
# up); each copy then runs every binary in turn, from its package's directory as `cargo test`
# does (doctests are not soaked). The copies share nothing but the PostgreSQL server: every
# test makes a database of its own named after its process (`egov_t_<pid>_<n>_<nanos>`), each
# copy has its own temp directory (SQLite files, CLI data dirs), and servers listen on port 0.
#
# Prints one line per round (PASS/FAIL, each copy's duration and its failing tests) and a
# final tally of the failures by test; exits non-zero if any round failed. The logs of a
# failing round are kept under SOAK_DIR (default target/soak/<start time>), those of a passing
# round removed. SOAK_TIMEOUT (seconds, default 1800) bounds one binary's run: a hanging test
# is reported as TIMEOUT with its binary. After each round the databases whose test process
# has ended are dropped, so a long soak does not fill the server.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}

[ $# -ge 1 ] || usage
rounds=$1
shift
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || usage
copies=${SOAK_COPIES:-2}
[[ "$copies" =~ ^[1-9][0-9]*$ ]] || usage
run_timeout=${SOAK_TIMEOUT:-1800}

cargo_args=()
test_args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then
    shift
    test_args=("$@")
    break
  fi
  cargo_args+=("$1")
  shift
done

started_ns=$(date +%s%N)
out=${SOAK_DIR:-$root/target/soak/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$out"
summary="$out/summary.txt"
: >"$summary"

say() { echo "$*" | tee -a "$summary"; }

export EGOV_TEST_DATABASE_URL="${EGOV_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

# ----- build once -----------------------------------------------------------------------------
echo "soak: building the test binaries (scripts/test.sh --no-run ${cargo_args[*]})"
if ! bash scripts/test.sh --no-run --message-format=json-render-diagnostics "${cargo_args[@]}" \
  >"$out/build.json" 2>"$out/build.log"; then
  tail -n 40 "$out/build.log" >&2
  echo "soak: the build failed; see $out/build.log" >&2
  exit 1
fi
# executable <TAB> package directory <TAB> label (the target's source file in the repository)
jq -r --arg root "$root/" '
  select(.reason == "compiler-artifact" and .profile.test and .executable != null)
  | [.executable, (.manifest_path | sub("/Cargo.toml$"; "")), (.target.src_path | ltrimstr($root))]
  | @tsv' "$out/build.json" | sort -t $'\t' -k3 >"$out/binaries.tsv"
binaries=$(wc -l <"$out/binaries.tsv")
if [ "$binaries" -eq 0 ]; then
  echo "soak: no test binary was built" >&2
  exit 1
fi
say "soak: $rounds rounds x $copies copies of $binaries test binaries, logs in $out"

# ----- one copy of the suite ------------------------------------------------------------------
# Runs every binary once into $dir; writes $dir/failures (one "label: test" per failing test,
# "label: TIMEOUT" or "label: exit N" when the binary failed without naming a test) and
# $dir/seconds.
run_copy() {
  local dir=$1
  mkdir -p "$dir/tmp"
  : >"$dir/failures"
  local begin=$SECONDS exe pkg label log rc names
  while IFS=$'\t' read -r exe pkg label; do
    log="$dir/$(echo "$label" | tr '/' '_').log"
    rc=0
    (cd "$pkg" && TMPDIR="$dir/tmp" CARGO_MANIFEST_DIR="$pkg" \
      timeout --kill-after=30 "$run_timeout" "$exe" ${test_args[@]+"${test_args[@]}"}) \
      >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
      names=$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)
      if [ -n "$names" ]; then
        echo "$names" | sed "s|^|$label: |" >>"$dir/failures"
      elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
        echo "$label: TIMEOUT after ${run_timeout}s" >>"$dir/failures"
      else
        echo "$label: exit $rc" >>"$dir/failures"
      fi
    fi
  done <"$out/binaries.tsv"
  echo $((SECONDS - begin)) >"$dir/seconds"
}

# Drops the test databases made since the soak began whose process has ended (names are
# egov_t_<pid>_<n>_<nanos>); a database still in use, another engineer's included, is left
# alone.
drop_finished_databases() {
  psql "$EGOV_TEST_DATABASE_URL" -qtAc "select datname from pg_database where datname like 'egov\_t\_%'" 2>/dev/null |
    while read -r name; do
      [[ "$name" =~ ^egov_t_([0-9]+)_[0-9]+_([0-9]+)$ ]] || continue
      [ "${BASH_REMATCH[2]}" -ge "$started_ns" ] || continue
      kill -0 "${BASH_REMATCH[1]}" 2>/dev/null && continue
      psql "$EGOV_TEST_DATABASE_URL" -qc "drop database if exists \"$name\"" >/dev/null 2>&1 || true
    done
}

# ----- the rounds -----------------------------------------------------------------------------
passed=0
failed=0
: >"$out/all-failures"
letters=(A B C D E F G H I J K L M N O P Q R S T U V W X Y Z)
for round in $(seq 1 "$rounds"); do
  rdir="$out/round-$round"
  begin=$SECONDS
  pids=()
  for c in $(seq 0 $((copies - 1))); do
    run_copy "$rdir/${letters[$c]}" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  seconds=$((SECONDS - begin))
  line=""
  round_failed=0
  for c in $(seq 0 $((copies - 1))); do
    cdir="$rdir/${letters[$c]}"
    line+="  ${letters[$c]} $(cat "$cdir/seconds")s"
    if [ -s "$cdir/failures" ]; then
      round_failed=1
      line+=" ($(paste -sd ';' "$cdir/failures" | sed 's/;/; /g'))"
      cat "$cdir/failures" >>"$out/all-failures"
    fi
  done
  if [ "$round_failed" -eq 0 ]; then
    passed=$((passed + 1))
    say "round $round/$rounds: PASS in ${seconds}s:$line"
    rm -rf "$rdir"
  else
    failed=$((failed + 1))
    say "round $round/$rounds: FAIL in ${seconds}s:$line"
    say "  logs: $rdir"
    rm -rf "$rdir"/*/tmp
  fi
  drop_finished_databases
done

say "soak: $passed of $rounds rounds passed, $failed failed ($copies copies at once)"
if [ -s "$out/all-failures" ]; then
  say "failures by test (times):"
  sort "$out/all-failures" | uniq -c | sort -rn | sed 's/^/  /' | tee -a "$summary"
  exit 1
fi
