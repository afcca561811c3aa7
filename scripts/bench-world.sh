# Sourced by the benchmark scripts (not run): the staging-like world of
# examples/moto_fixture.rs on a local moto server, with Anvil nodes as its Quorum nodes.
#
#   source scripts/bench-world.sh
#   bench_isolate "$work"                    # AWS settings that reach nowhere but moto
#   bench_world "$work" answering|refusing   # sets $world_config (the console's config)
#
# Every server it starts listens on 127.0.0.1 and is added to the caller's `pids` array,
# which the caller stops on exit. Needs moto and anvil in .tools (scripts/test installs
# them), python3, and `root` set to the repository.

# Nothing of the console may reach outside: static fake credentials, no instance
# metadata, no shared AWS files, no proxies.
bench_isolate() { # work
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing
  export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=$1/aws-config
  export AWS_SHARED_CREDENTIALS_FILE=$1/aws-credentials
  unset AWS_PROFILE AWS_DEFAULT_PROFILE HTTP_PROXY HTTPS_PROXY ALL_PROXY http_proxy https_proxy all_proxy
  export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
  : >"$AWS_CONFIG_FILE"
  : >"$AWS_SHARED_CREDENTIALS_FILE"
}

# `n` free loopback ports, all different.
bench_free_ports() { # n
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

bench_wait_port() { # port seconds
  local deadline=$((SECONDS + $2))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { echo "nothing listens on port $1" >&2; return 1; }
    sleep 0.1
  done
}

# Starts moto, builds the fixture in it and writes the config to $1/world.toml
# ($world_config). Its Quorum nodes get free loopback ports: `answering` starts an
# Anvil node that does not mine on each (genesis an hour old), `refusing` leaves
# them closed. The fixture's summary goes to stderr.
bench_world() { # work answering|refusing
  local work=$1 nodes=$2 moto_bin=$root/.tools/venv/bin/moto_server anvil_bin
  anvil_bin=$(find -L "$root/.tools/npm" -name anvil -type f 2>/dev/null | head -n 1 || true)
  [ -x "$moto_bin" ] && [ -n "$anvil_bin" ] || {
    echo "moto or anvil missing in .tools (run scripts/test once)" >&2
    return 1
  }
  local fixture_bin=$root/target/release/examples/moto_fixture moto_port
  moto_port=$(bench_free_ports 1)
  MOTO_ECS_SERVICE_RUNNING=2 "$moto_bin" -H 127.0.0.1 -p "$moto_port" \
    >"$work/moto.out" 2>"$work/moto.log" &
  pids+=($!)
  bench_wait_port "$moto_port" 30
  world_config=$work/world.toml
  "$fixture_bin" "http://127.0.0.1:$moto_port" >"$world_config" 2>"$work/fixture.log"
  local old_ports new_ports i
  read -r -a old_ports <<<"$(grep -o 'rpc_url = "http://127.0.0.1:[0-9]*"' "$world_config" | grep -o '[0-9]*"$' | tr -d '"' | tr '\n' ' ')"
  read -r -a new_ports <<<"$(bench_free_ports ${#old_ports[@]})"
  for i in "${!old_ports[@]}"; do
    sed -i "s|\"http://127.0.0.1:${old_ports[$i]}\"|\"http://127.0.0.1:${new_ports[$i]}\"|" "$world_config"
    if [ "$nodes" = answering ]; then
      "$anvil_bin" --no-mining --timestamp "$(($(date +%s) - 3600))" --host 127.0.0.1 \
        --port "${new_ports[$i]}" --threads 1 --quiet >/dev/null 2>&1 &
      pids+=($!)
    fi
  done
  if [ "$nodes" = answering ]; then
    for i in "${!new_ports[@]}"; do bench_wait_port "${new_ports[$i]}" 30; done
  fi
  echo "== moto on 127.0.0.1:$moto_port; ${#new_ports[@]} Quorum nodes $nodes;" \
    "$(grep -c '^\[\[environments.clusters\]\]' "$world_config") clusters" >&2
  sed 's/^/   /' "$work/fixture.log" >&2
}
