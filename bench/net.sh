#!/usr/bin/env bash
# axle's servers vs Tokio's and raw libuv's: the network rows of
# shared/anchors/README.md (13 tcp_echo, 14 http_hello), run side by side.
#
#   bench/net.sh [RESULTS_FILE]           run (default file: bench/results.jsonl)
#   bench/net.sh --table [FILE [RUN_ID]]  reprint a stored run
#
# Servers (each on its own port, killed after its load):
#   axle   current_thread/1   examples/echo_server, http_server --current
#   axle   multi_thread/N     ... --threads N
#   tokio  current_thread/1 and multi_thread/N   (tokio-anchor echo-server/http-server)
#   libuv  single_loop/1 and reuseport_loops/N   (uv-echo-server, uv-http-server)
# Loads, exactly as the anchors' run.sh: echo-load --conns 64 --msgs M64 and
# --conns 1 --msgs M1 (64-byte messages), wrk -t1 -c64 -d$HTTP_DURATION.
# Server CPU per operation: the server's threads' schedstat before and after
# (ns, all threads), and utime/stime (10 ms ticks) for its user part.
# Rounds are interleaved (every server once per round), so slow drift of the
# shared 2-core machine hits all servers alike; the table shows medians.
#
# Table columns: throughput and CPU per op of each server, then the ratios
# the I/O issue sets targets for:
#   cpu_vs_libuv  axle current / libuv single_loop, server CPU per op (<= 1.05)
#   tput_vs_libuv axle current / libuv single_loop, throughput        (>= 0.95)
#   tput_vs_tokio axle multi / tokio multi, throughput                 (>= 1.0)
#   p99_vs_tokio  axle multi / tokio multi, p99 latency                (<= 1.0)
# and axle's cross-thread hops per request (worker stats, printed by the
# servers when they are told to stop; "-" when they cannot report).
#
# Knobs: ROUNDS=3 THREADS=2 ECHO_MSGS_C64=8000 ECHO_MSGS_C1=20000
#   HTTP_DURATION=5s PORT_BASE=18700 ONLY="echo64 echo1 http" NO_BUILD=1
#   ANCHORS_SRC / ANCHORS_DIR / BUILD_DIR / CARGO as in bench/compare.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
THREADS="${THREADS:-2}"
ECHO_MSGS_C64="${ECHO_MSGS_C64:-8000}"
ECHO_MSGS_C1="${ECHO_MSGS_C1:-20000}"
HTTP_DURATION="${HTTP_DURATION:-5s}"
PORT_BASE="${PORT_BASE:-18700}"
ONLY="${ONLY:-echo64 echo1 http}"
ANCHORS_SRC="${ANCHORS_SRC:-$(cd "$REPO/.." && pwd)/shared/anchors}"
ANCHORS_DIR="${ANCHORS_DIR:-/tmp/axle-anchors}"
BUILD_DIR="${BUILD_DIR:-/tmp/axle-bench-build}"
CARGO="${CARGO:-$(command -v cargo || echo "$HOME/.cargo/bin/cargo")}"
RUN_ID="$(date -u +%Y%m%dT%H%M%SZ)"
DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
NCPU="$(nproc)"
CPU_MODEL="$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
AXLE_COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
TOKIO_BIN="$ANCHORS_DIR/tokio/target/release/tokio-anchor"
AX_ECHO="$BUILD_DIR/examples/echo_server"
AX_HTTP="$BUILD_DIR/examples/http_server"

log() { printf '[net] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

print_table() { # file run_id
    jq -r -s --arg run "$2" '
      def med: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
               else (.[length / 2 - 1] + .[length / 2]) / 2 end;
      def r2: . * 100 | round / 100;
      [.[] | select(.run_id == $run and .net == true and (.error | not))]
      | group_by(.shape) | .[]
      | . as $rows
      | (group_by([.system, .runtime]) | map({key: "\(.[0].system) \(.[0].runtime)",
           value: {tput: (map(.tput) | med), cpu: (map(.server_cpu_ns_per_op) | med),
                   user: (map(.server_user_ns_per_op) | med),
                   p50: (map(.p50_us) | med), p99: (map(.p99_us) | med),
                   hops: (map(.hops_per_op // empty) | med), n: length}}) | from_entries) as $s
      | ($s["axle current_thread"]) as $ac | ($s["libuv single_loop"]) as $lu
      | ($s["axle multi_thread"]) as $am | ($s["tokio multi_thread"]) as $tm
      | ($rows[0].shape) as $shape
      | ($s | to_entries[] | [$shape, .key, (.value.tput | floor | tostring),
           "\(.value.p50 | r2)/\(.value.p99 | r2)", (.value.cpu | round | tostring),
           (.value.user | round | tostring),
           (if .value.hops == null then "-" else (.value.hops * 1000 | round / 1000 | tostring) end),
           (.value.n | tostring)] | @tsv),
        ([$shape, "RATIOS",
          "cpu_vs_libuv=\(if $ac and $lu then ($ac.cpu / $lu.cpu | r2) else "-" end)",
          "tput_vs_libuv=\(if $ac and $lu then ($ac.tput / $lu.tput | r2) else "-" end)",
          "tput_vs_tokio=\(if $am and $tm then ($am.tput / $tm.tput | r2) else "-" end)",
          "p99_vs_tokio=\(if $am and $tm then ($am.p99 / $tm.p99 | r2) else "-" end)", "", ""] | @tsv)
    ' "$1" | (printf 'shape\tserver\tops/s\tp50/p99_us\tcpu_ns/op\tuser_ns/op\thops/op\tn\n'; cat) |
    column -t -s $'\t'
}

if [[ "${1:-}" == "--table" ]]; then
    f="${2:-$HERE/results.jsonl}"
    print_table "$f" "${3:-$(jq -r 'select(.net == true) | .run_id' "$f" | tail -n 1)}"
    exit 0
fi
RESULTS="${1:-$HERE/results.jsonl}"
command -v jq >/dev/null || die "jq is needed (apt-get install jq)"
command -v wrk >/dev/null || die "wrk is needed (apt-get install wrk)"

if [[ -z "${NO_BUILD:-}" ]]; then
    [[ -d "$ANCHORS_SRC/tokio" ]] || die "anchors not found at $ANCHORS_SRC (set ANCHORS_SRC)"
    mkdir -p "$ANCHORS_DIR"
    cp -r --preserve=timestamps "$ANCHORS_SRC/." "$ANCHORS_DIR/"
    chmod -R u+w "$ANCHORS_DIR"
    log "building tokio-anchor, the libuv servers and echo-load"
    (cd "$ANCHORS_DIR/tokio" && "$CARGO" build --release --quiet)
    make -C "$ANCHORS_DIR/libuv" >/dev/null
    make -C "$ANCHORS_DIR/load" >/dev/null
    log "building axle's servers (release) in $BUILD_DIR"
    if [[ ! -f "$BUILD_DIR/build.ninja" ]]; then
        meson setup "$BUILD_DIR" "$REPO" --buildtype=release -Dtests=disabled \
            -Dexamples=enabled -Dbenchmarks=enabled >/dev/null
    else
        meson configure "$BUILD_DIR" -Dexamples=enabled >/dev/null
    fi
    ninja -C "$BUILD_DIR" examples/echo_server examples/http_server >/dev/null
fi
for b in "$AX_ECHO" "$AX_HTTP" "$TOKIO_BIN" "$ANCHORS_DIR/libuv/uv-echo-server" \
         "$ANCHORS_DIR/libuv/uv-http-server" "$ANCHORS_DIR/load/echo-load"; do
    [[ -x "$b" ]] || die "missing $b"
done

PORT="$PORT_BASE"
SERVER_PID=""
wait_port() {
    local i
    for i in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}
stop_server() {
    if [[ -n "$SERVER_PID" ]]; then
        kill -INT "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 40); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=""
    fi
}
trap stop_server EXIT
cpu_snapshot() { # pid -> "utime stime sched_ns"
    local pid=$1 s=0 a f st
    for f in /proc/"$pid"/task/*/schedstat; do read -r a _ < "$f" || continue; s=$((s + a)); done
    st="$(sed 's/^.*) //' /proc/"$pid"/stat)"
    set -- $st
    echo "${12} ${13} $s"
}

emit() { # json fragment on stdin -> results
    jq -c --arg run "$RUN_ID" --arg date "$DATE" --argjson ncpu "$NCPU" --arg cpu "$CPU_MODEL" \
        --arg commit "$AXLE_COMMIT" \
        '. + {net: true, run_id: $run, date: $date, machine_cpus: $ncpu, machine_cpu: $cpu,
              axle_commit: $commit}' >>"$RESULTS"
}

# one SYSTEM RUNTIME THREADS SHAPE REP cmd... (the cmd's @P is the port)
one() {
    local system=$1 runtime=$2 threads=$3 shape=$4 rep=$5; shift 5
    local cmd=("${@//@P/$PORT}") before after out frag ops tck statsf hops
    PORT=$((PORT + 1))
    cmd=("${@//@P/$PORT}")
    statsf="$(mktemp)"
    AXLE_STATS_FILE="$statsf" "${cmd[@]}" >/dev/null 2>&1 &
    SERVER_PID=$!
    if ! wait_port "$PORT"; then
        stop_server
        echo "{\"system\":\"$system\",\"runtime\":\"$runtime\",\"shape\":\"$shape\",\"error\":\"no server\"}" | emit
        return
    fi
    before="$(cpu_snapshot "$SERVER_PID")"
    case "$shape" in
        echo64) out="$("$ANCHORS_DIR/load/echo-load" --port "$PORT" --conns 64 --msgs "$ECHO_MSGS_C64" --size 64)" || out="" ;;
        echo1)  out="$("$ANCHORS_DIR/load/echo-load" --port "$PORT" --conns 1 --msgs "$ECHO_MSGS_C1" --size 64)" || out="" ;;
        http)   out="$(wrk -t1 -c64 -d"$HTTP_DURATION" --latency "http://127.0.0.1:$PORT/")" || out="" ;;
    esac
    after="$(cpu_snapshot "$SERVER_PID")"
    stop_server
    if [[ "$shape" == http ]]; then
        frag="$(awk '
          function us(v) { if (v ~ /us$/) { sub(/us$/, "", v); return v + 0 }
                           if (v ~ /ms$/) { sub(/ms$/, "", v); return v * 1000 }
                           if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000000 } return v + 0 }
          /Requests\/sec:/ { rps = $2 } /requests in/ { reqs = $1 }
          /^ +50%/ { p50 = us($2) } /^ +99%/ { p99 = us($2) } /Non-2xx/ { bad = $NF }
          END { printf "{\"ops\":%d,\"tput\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"non2xx\":%d}\n", reqs, rps, p50, p99, bad + 0 }' <<<"$out")"
    elif [[ -n "$out" ]]; then
        frag="$(jq -c '{ops: .round_trips, tput: .rtt_per_s, p50_us: .p50_us, p99_us: .p99_us}' <<<"$out")"
    else
        frag='{"error":"load failed"}'
    fi
    ops="$(jq '.ops // 0' <<<"$frag")"
    hops="null"
    if [[ -s "$statsf" && "$ops" -gt 0 ]]; then
        hops="$(awk -v ops="$ops" '/hops/ { for (i = 1; i <= NF; i++) if ($i ~ /^hops=/) { sub(/hops=/, "", $i); h += $i } }
                                   END { printf "%.4f", h / ops }' "$statsf")"
    fi
    rm -f "$statsf"
    tck=$(getconf CLK_TCK)
    local b=($before) a=($after)
    jq -c -n --arg system "$system" --arg runtime "$runtime" --argjson threads "$threads" \
        --arg shape "$shape" --argjson rep "$rep" --argjson frag "$frag" --argjson ops "$ops" \
        --argjson u0 "${b[0]}" --argjson s0 "${b[1]}" --argjson n0 "${b[2]}" \
        --argjson u1 "${a[0]}" --argjson s1 "${a[1]}" --argjson n1 "${a[2]}" \
        --argjson tck "$tck" --argjson hops "$hops" \
        '{system: $system, runtime: $runtime, threads: $threads, shape: $shape, rep: $rep,
          hops_per_op: $hops}
         + $frag
         + (if $ops > 0 then {server_cpu_ns_per_op: (($n1 - $n0) / $ops | round),
                              server_user_ns_per_op: (($u1 - $u0) * 1e9 / $tck / $ops | round)}
            else {} end)' | emit
    log "round $rep $shape $system/$runtime: $(jq -c '{tput, p99_us}' <<<"$frag")"
}

T="$THREADS"
mkdir -p "$(dirname "$RESULTS")"; touch "$RESULTS"
log "run $RUN_ID -> $RESULTS; axle $AXLE_COMMIT; rounds=$ROUNDS threads=$T"
for rep in $(seq 1 "$ROUNDS"); do
    for shape in $ONLY; do
        if [[ "$shape" == http ]]; then
            one axle current_thread 1 http "$rep" "$AX_HTTP" --port @P --current
            one axle multi_thread "$T" http "$rep" "$AX_HTTP" --port @P --threads "$T"
            one tokio current_thread 1 http "$rep" "$TOKIO_BIN" http-server --current --port @P
            one tokio multi_thread "$T" http "$rep" "$TOKIO_BIN" http-server --threads "$T" --port @P
            one libuv single_loop 1 http "$rep" "$ANCHORS_DIR/libuv/uv-http-server" @P 1
            one libuv reuseport_loops "$T" http "$rep" "$ANCHORS_DIR/libuv/uv-http-server" @P "$T"
        else
            one axle current_thread 1 "$shape" "$rep" "$AX_ECHO" --port @P --current
            one axle multi_thread "$T" "$shape" "$rep" "$AX_ECHO" --port @P --threads "$T"
            one tokio current_thread 1 "$shape" "$rep" "$TOKIO_BIN" echo-server --current --port @P
            one tokio multi_thread "$T" "$shape" "$rep" "$TOKIO_BIN" echo-server --threads "$T" --port @P
            one libuv single_loop 1 "$shape" "$rep" "$ANCHORS_DIR/libuv/uv-echo-server" @P 1
            one libuv reuseport_loops "$T" "$shape" "$rep" "$ANCHORS_DIR/libuv/uv-echo-server" @P "$T"
        fi
    done
done
print_table "$RESULTS" "$RUN_ID"
