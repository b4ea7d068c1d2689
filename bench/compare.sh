#!/usr/bin/env bash
# axle vs Tokio: builds both sides, runs every in-process workload of
# shared/anchors/README.md on both, interleaved, and prints the medians and
# the axle/Tokio ratio of the medians.
#
#   bench/compare.sh [RESULTS_FILE]          run (default file: bench/results.jsonl)
#   bench/compare.sh --table [FILE [RUN_ID]] reprint the table of a stored run
#
# Pairs compared (like with like):
#   axle <w> --threads $THREADS   vs  tokio-anchor <w> --threads $THREADS
#   axle <w> --current            vs  tokio-anchor <w> --current
#   axle spawn_blocking           vs  tokio-anchor spawn_blocking_pool4
#     (axle's pool is libuv's threadpool, 4 threads by default; the
#      anchors' spawn_blocking uses Tokio's default 512-thread pool)
# Every round runs every pair once, axle and Tokio back to back (the order
# alternates between rounds), so slow drift of the machine hits both sides.
# Table: axle_ms / tokio_ms = median over rounds of each run's median
# iteration; ratio = their quotient; min_ratio = the same with each run's
# fastest iteration (less sensitive to other load on the machine).
#
# Environment knobs:
#   ONLY="w1 w2"     only these workloads (names from `axle-bench list`)
#   NET=0            skip the network rows that follow the table (bench/net.sh:
#                    tcp_echo C=64 and C=1, http_hello, vs Tokio and raw libuv)
#   NET_ONLY="echo64 echo1 http"   which network rows
#   ROUNDS=3         rounds; the table shows the median of the per-round medians
#   THREADS=2        worker threads of the multi-thread runs
#   MODES="multi current"   which runtime flavours to run
#   SKIP_BIG=1       skip timers_1m and idle_tasks_1m (about 1/3 of the time)
#   TIMEOUT=180      seconds before one run is killed (reported as an error)
#   ANCHORS_SRC      the anchors (default: ../shared/anchors next to the repo)
#   ANCHORS_DIR      writable copy of them (default: /tmp/axle-anchors)
#   BUILD_DIR        axle's release build dir (default: /tmp/axle-bench-build)
#   CARGO            cargo (default: cargo on PATH, else ~/.cargo/bin/cargo)
#   NO_BUILD=1       use the binaries already built
#   NICE=-10         nice value of the measured processes (default -10 when
#                    root, else 0): other work on the machine then disturbs
#                    both sides less; both sides get the same value
#
# The whole script is one function called on the last line, so editing
# this file while it runs cannot change what the running copy does.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-2}"
MODES="${MODES:-multi current}"
NET_ONLY="${NET_ONLY:-echo64 echo1 http}"
TIMEOUT="${TIMEOUT:-180}"
ANCHORS_SRC="${ANCHORS_SRC:-$(cd "$REPO/.." && pwd)/shared/anchors}"
ANCHORS_DIR="${ANCHORS_DIR:-/tmp/axle-anchors}"
BUILD_DIR="${BUILD_DIR:-/tmp/axle-bench-build}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
NCPU="$(nproc)"
CPU_MODEL="$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
AXLE_BIN="$BUILD_DIR/bench/axle-bench"
TOKIO_BIN="$ANCHORS_DIR/tokio/target/release/tokio-anchor"
if [[ -z "${NICE:-}" ]]; then
    if [[ "$(id -u)" == 0 ]]; then NICE=-10; else NICE=0; fi
fi
AXLE_COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$REPO" status --porcelain --untracked-files=no -- src include 2>/dev/null)" ]]; then
    AXLE_COMMIT="$AXLE_COMMIT+dirty"
fi

log() { printf '[compare] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------------- table
print_table() { # file run_id
    local f=$1 run=$2
    jq -r -s --arg run "$run" '
      def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def ms: if . == null then "-" else (. / 1e3 | round) / 1e3 | tostring end;
      def r2: if . < 0.1 then (. * 10000 | round) / 10000 else (. * 100 | round) / 100 end;
      [.[] | select(.run_id == $run and .pair != null)]
      | group_by(.pair_index)
      | map(
          (map(select(.system == "axle" and (.error | not)))) as $a
          | (map(select(.system == "tokio" and (.error | not)))) as $tall
          | ($tall | map(select(.starved != true))) as $tok
          | (if ($tok | length) > 0 then $tok else $tall end) as $t
          | ($tall | map(select(.starved == true)) | length) as $tnstarved
          | (map(select(.error)) | length) as $errs
          | ($a | map(.median_ns) | med) as $am
          | ($t | map(.median_ns) | med) as $tm
          | ($a | map(.min_ns) | med) as $amin
          | ($t | map(.min_ns) | med) as $tmin
          | ($tnstarved > 0 and $tnstarved == ($tall | length)) as $tstarved
          | ($a | any(.starved == true)) as $astarved
          | .[0] as $x
          | [ $x.pair, $x.mode,
              ($am | ms), ($tm | ms),
              (if $tstarved and ($astarved | not) then "Tokio 1.24 starves"
               elif $astarved then "AXLE STARVED"
               elif $am != null and $tm != null and $tm > 0 then ($am / $tm | r2 | tostring)
               else "-" end),
              (if $tstarved or $astarved then "-"
               elif $amin != null and $tmin != null and $tmin > 0 then ($amin / $tmin | r2 | tostring)
               else "-" end),
              (if $am != null then ($am / ($a[0].ops_per_iter) * 10 | round / 10 | tostring) else "-" end),
              (if $tm != null then ($tm / ($t[0].ops_per_iter) * 10 | round / 10 | tostring) else "-" end),
              (($a | map(.median_ns | ms) | join("/")) + " | " + ($tall | map(.median_ns | ms) | join("/"))),
              ((if $errs > 0 then "errors=\($errs) " else "" end)
               + (if $tnstarved > 0 then "tokio starved (3 s watchdog) in \($tnstarved)/\($tall | length) rounds " else "" end)
               + (if $x.pair == "spawn_blocking" then "tokio=spawn_blocking_pool4 " else "" end)
               + (if ($a | length) > 0 and $a[0].peak_rss_bytes then
                    "peak_rss axle/tokio \($a | map(.peak_rss_bytes) | max / 1048576 | floor)/\(($t | map(.peak_rss_bytes) | max // 0) / 1048576 | floor)MiB "
                  else "" end)
               + (if ($a | length) > 0 and $a[0].rss_bytes_per_task then
                    "rss/task \($a[0].rss_bytes_per_task)/\($t[0].rss_bytes_per_task // "-")B"
                  else "" end))
            ] | @tsv)
      | (["workload", "runtime", "axle_ms", "tokio_ms", "ratio", "min_ratio", "axle_ns/op", "tokio_ns/op", "per-round ms (axle | tokio)", "notes"] | @tsv),
        .[]
    ' "$f" | column -t -s $'\t'
}

main() {
if [[ "${1:-}" == "--table" ]]; then
    f="${2:-$HERE/results.jsonl}"
    run="${3:-$(tail -n 1 "$f" | jq -r .run_id)}"
    print_table "$f" "$run"
    return 0
fi
RESULTS="${1:-$HERE/results.jsonl}"

# ---------------------------------------------------------------------- build
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
command -v column >/dev/null || die "column is needed (apt-get install bsdextrautils)"
if [[ -z "${NO_BUILD:-}" ]]; then
    [[ -d "$ANCHORS_SRC/tokio" ]] || die "anchors not found at $ANCHORS_SRC (set ANCHORS_SRC)"
    [[ -x "$CARGO" ]] || die "cargo not found (set CARGO=/path/to/cargo)"
    dpkg -s librust-tokio-dev >/dev/null 2>&1 ||
        die "librust-tokio-dev missing (apt-get install librust-tokio-dev librust-tokio-macros-dev)"
    log "copying $ANCHORS_SRC -> $ANCHORS_DIR"
    mkdir -p "$ANCHORS_DIR"
    # shared/ may be read-only: build in a copy (keeps target/ between runs)
    cp -r --preserve=timestamps "$ANCHORS_SRC/." "$ANCHORS_DIR/"
    chmod -R u+w "$ANCHORS_DIR"
    log "building tokio-anchor (offline, Debian crates; as anchors/run.sh does)"
    (cd "$ANCHORS_DIR/tokio" && "$CARGO" build --release --quiet)
    log "building axle-bench (release) in $BUILD_DIR"
    if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
        meson setup "$BUILD_DIR" "$REPO" --buildtype=release \
            -Dtests=disabled -Dexamples=disabled -Dbenchmarks=enabled >/dev/null
    fi
    ninja -C "$BUILD_DIR" bench/axle-bench >/dev/null
fi
[[ -x "$AXLE_BIN" ]] || die "no $AXLE_BIN"
[[ -x "$TOKIO_BIN" ]] || die "no $TOKIO_BIN"

# ------------------------------------------------------------------ workloads
WORKLOADS="${ONLY:-$("$AXLE_BIN" list)}"
tokio_list="$("$TOKIO_BIN" list)"
pairs=()   # "name axle_workload tokio_workload"
for w in $WORKLOADS; do
    [[ "$w" == spawn_blocking_pool4 ]] && continue   # same pool as spawn_blocking
    if [[ -n "${SKIP_BIG:-}" && ( "$w" == timers_1m || "$w" == idle_tasks_1m ) ]]; then
        continue
    fi
    t="$w"
    [[ "$w" == spawn_blocking ]] && t=spawn_blocking_pool4
    grep -qx "$t" <<<"$tokio_list" || { log "tokio-anchor has no $t: skipped"; continue; }
    "$AXLE_BIN" list | grep -qx "$w" || { log "axle-bench has no $w: skipped"; continue; }
    pairs+=("$w $w $t")
done
((${#pairs[@]})) || die "no workload to run"

mkdir -p "$(dirname "$RESULTS")"
touch "$RESULTS"
log "run $RUN_ID -> $RESULTS ($NCPU cpus: $CPU_MODEL); axle $AXLE_COMMIT; rounds=$ROUNDS threads=$THREADS modes=$MODES nice=$NICE"
log "workloads: $(printf '%s ' "${pairs[@]%% *}")"

# One measurement: system pair mode index rep cmd... -> one annotated JSON line
run_one() {
    local system=$1 pair=$2 mode=$3 idx=$4 rep=$5; shift 5
    local out load
    load="$(cut -d' ' -f1 /proc/loadavg)"
    log "round $rep: $system $* (load $load)"
    if out="$(nice -n "$NICE" timeout "$TIMEOUT" "$@" 2>/dev/null | tail -n 1)" && [[ -n "$out" ]] &&
        jq -e . >/dev/null 2>&1 <<<"$out"; then
        :
    else
        log "$system $* FAILED or timed out"
        out="{\"system\":\"$system\",\"workload\":\"$2\",\"error\":\"failed or timed out after ${TIMEOUT}s\",\"cmd\":\"$*\"}"
    fi
    jq -c --arg pair "$pair" --arg mode "$mode" --argjson idx "$idx" --argjson rep "$rep" \
        --arg run "$RUN_ID" --arg date "$DATE" --argjson ncpu "$NCPU" --arg cpu "$CPU_MODEL" \
        --arg load "$load" --arg commit "$AXLE_COMMIT" --argjson nice "$NICE" \
        '. + {pair: $pair, mode: $mode, pair_index: $idx, rep: $rep, run_id: $run, date: $date,
              machine_cpus: $ncpu, machine_cpu: $cpu, loadavg_1m: ($load | tonumber),
              axle_commit: $commit, nice: $nice}' \
        <<<"$out" >>"$RESULTS"
}

for rep in $(seq 1 "$ROUNDS"); do
    idx=0
    for mode in $MODES; do
        case "$mode" in
            multi) margs=(--threads "$THREADS") ;;
            current) margs=(--current) ;;
            *) die "unknown mode $mode (multi, current)" ;;
        esac
        for p in "${pairs[@]}"; do
            read -r name aw tw <<<"$p"
            idx=$((idx + 1))
            aextra=()
            # axle's spawn_blocking runs on a 4-thread pool: measure it with
            # the W/R of the Tokio row it is compared with (pool4: 3/300)
            [[ "$aw" == spawn_blocking ]] && aextra=(--warmup 3 --iters 300)
            if ((rep % 2)); then
                run_one axle "$name" "$mode" "$idx" "$rep" "$AXLE_BIN" "$aw" "${margs[@]}" "${aextra[@]}"
                run_one tokio "$name" "$mode" "$idx" "$rep" "$TOKIO_BIN" "$tw" "${margs[@]}"
            else
                run_one tokio "$name" "$mode" "$idx" "$rep" "$TOKIO_BIN" "$tw" "${margs[@]}"
                run_one axle "$name" "$mode" "$idx" "$rep" "$AXLE_BIN" "$aw" "${margs[@]}" "${aextra[@]}"
            fi
        done
    done
done

log "results of run $RUN_ID (file: $RESULTS): median of $ROUNDS per-round medians; ratio = axle/tokio"
print_table "$RESULTS" "$RUN_ID"
if [[ "${NET:-1}" == 1 ]]; then
    # The network rows (tcp_echo C=64 and C=1, http_hello), against Tokio's
    # and raw libuv's servers: bench/net.sh, same results file and knobs.
    log "network rows: bench/net.sh"
    ONLY="$NET_ONLY" ROUNDS="$ROUNDS" THREADS="$THREADS" ANCHORS_SRC="$ANCHORS_SRC" \
        ANCHORS_DIR="$ANCHORS_DIR" BUILD_DIR="$BUILD_DIR" CARGO="$CARGO" \
        "$HERE/net.sh" "$RESULTS"
fi
}

main "$@"
exit $?
