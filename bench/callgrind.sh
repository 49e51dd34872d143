#!/usr/bin/env bash
# User-space instructions per request, by callgrind (exact where timings on a shared host are
# not). For each scenario and server: start `bench serve <server>` under callgrind, warm up
# with wrk, zero the counters, run wrk, dump, and divide the instructions of that window by the
# requests wrk completed in it.
#
#   bench/callgrind.sh [s1|s2|s8 ...]            # default: s1 s2 s8, servers ours and hyper
#   SERVERS=ours bench/callgrind.sh s2           # one server
#   TOP=25 bench/callgrind.sh s1                 # also print each profile's top 25 functions
#
# s1: keep-alive GET /, s2: pipelined x16, s8: keep-alive over HTTPS (rustls). 8 connections
# (callgrind runs the server ~50x slower; more connections only lengthen the queue). Needs
# valgrind and wrk (Debian packages). Profiles are left in $OUT (default: a temporary
# directory) for callgrind_annotate.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
scenarios=("${@:-s1 s2 s8}")
# shellcheck disable=SC2206
scenarios=(${scenarios[*]})
servers=(${SERVERS:-ours hyper})
secs=${SECS:-6}
out="${OUT:-$(mktemp -d -t tiny-http-callgrind.XXXXXX)}"
mkdir -p "$out"
for tool in valgrind callgrind_control wrk; do
    command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool is missing (apt-get install valgrind wrk)" >&2; exit 1; }
done
(cd "$here" && cargo build --release -q -p bench)
bench="${CARGO_TARGET_DIR:-$here/target}/release/bench"
tls_dir="$out/tls"
if [[ " ${scenarios[*]} " == *" s8 "* ]]; then
    mkdir -p "$tls_dir"
    # The certificate and key S8 uses (the harness's own rcgen call).
    "$bench" make-tls "$tls_dir"
fi

pipeline="$out/pipeline16.lua"
cat > "$pipeline" <<'EOF'
init = function(args)
  local r = {}
  for i = 1, 16 do r[i] = wrk.format(nil, "/") end
  req = table.concat(r)
end
request = function() return req end
EOF

printf '%-4s %-6s %10s %16s %14s\n' scenario server requests instructions "instr/request"
for scenario in "${scenarios[@]}"; do
    for server in "${servers[@]}"; do
        args=(serve "$server")
        scheme=http
        wrk_extra=()
        case $scenario in
            s1) ;;
            s2) wrk_extra=(-s "$pipeline") ;;
            s8) args+=("tls=$tls_dir"); scheme=https ;;
            *) echo "unknown scenario $scenario" >&2; exit 2 ;;
        esac
        profile="$out/callgrind.$scenario.$server"
        log="$out/server.$scenario.$server.log"
        valgrind --tool=callgrind --callgrind-out-file="$profile.%p" "$bench" "${args[@]}" \
            >"$log" 2>"$log.err" &
        pid=$!
        # A failure below must not leave the server running under valgrind.
        trap 'kill "$pid" 2>/dev/null || true' EXIT
        port=
        for _ in $(seq 1 600); do # at most 60 s to start under valgrind
            port=$(sed -n 's/^LISTENING //p' "$log" | head -1)
            [ -n "$port" ] && break
            sleep 0.1
        done
        if [ -z "$port" ]; then
            echo "callgrind.sh: $server did not start (see $log.err)" >&2
            kill "$pid" 2>/dev/null || true
            exit 1
        fi
        url="$scheme://127.0.0.1:$port/"
        wrk -t1 -c8 -d2s "${wrk_extra[@]}" "$url" >/dev/null
        timeout 60 callgrind_control -z "$pid" >/dev/null
        report=$(wrk -t1 -c8 -d"${secs}s" "${wrk_extra[@]}" "$url")
        timeout 60 callgrind_control -d "$pid" >/dev/null
        kill "$pid" 2>/dev/null || true
        timeout 30 tail --pid="$pid" -f /dev/null || kill -9 "$pid" 2>/dev/null || true
        requests=$(sed -n 's/^ *\([0-9]\+\) requests in.*/\1/p' <<<"$report")
        # The dump made by `-d` is the second file of the run (`.1`); its totals line.
        # The dump asked for above is the run's first numbered part.
        dump="$profile.$pid.1"
        instructions=$(sed -n 's/^summary: *\([0-9]\+\).*/\1/p;s/^totals: *\([0-9]\+\).*/\1/p' "$dump" 2>/dev/null | head -1)
        if ! [[ ${requests:-} =~ ^[1-9][0-9]*$ && -n ${instructions:-} ]]; then
            echo "callgrind.sh: no figures for $scenario $server (wrk: ${requests:-none}, dump: $dump)" >&2
            exit 1
        fi
        printf '%-8s %-6s %10s %16s %14.0f\n' "$scenario" "$server" "$requests" "$instructions" \
            "$(echo "$instructions / $requests" | bc -l)"
        if [ -n "${TOP:-}" ]; then
            callgrind_annotate --inclusive=no "$dump" 2>/dev/null | sed -n "1,$((TOP + 20))p" \
                | grep -E '^ *[0-9,]+ ' | head -"$TOP"
        fi
    done
done
echo "profiles: $out"
