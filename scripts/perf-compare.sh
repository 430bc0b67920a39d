#!/usr/bin/env bash
# perf-compare.sh: the memory-backend ratio tests and the stampede benchmark
# on two checkouts of the repository, run in turns, so that a change's
# effect on the hit path is measured in the same run as the code before it.
#
# Usage: scripts/perf-compare.sh BEFORE_DIR AFTER_DIR [ROUNDS]
#   e.g. git worktree add /tmp/before main
#        scripts/perf-compare.sh /tmp/before . 4
#
# Each round runs, in each checkout: TestHitRatios and TestFeatureCostRatios
# (backends/memory), TestHitCostRatio (proxies/metrics, proxies/logging) with
# DOGPILE_PERF=1, and BenchmarkStampede. Output lines are prefixed with
# "before" or "after". Read the ratios, not the absolute times: see
# docs/PERFORMANCE.md.

set -euo pipefail

if [ $# -lt 2 ]; then
	sed -n '2,14p' "$0" >&2
	exit 2
fi
before=$(cd "$1" && pwd)
after=$(cd "$2" && pwd)
rounds=${3:-4}
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT

for side in before after; do
	dir=${!side}
	(cd "$dir" &&
		go test -c -o "$bin/memory-$side.test" ./backends/memory/ &&
		go test -c -o "$bin/metrics-$side.test" ./proxies/metrics/ &&
		go test -c -o "$bin/logging-$side.test" ./proxies/logging/)
done

for _ in $(seq "$rounds"); do
	for side in before after; do
		dir=${!side}
		{
			(cd "$dir/backends/memory" && DOGPILE_PERF=1 "$bin/memory-$side.test" -test.run 'TestHitRatios|TestFeatureCostRatios' -test.v)
			(cd "$dir/proxies/metrics" && DOGPILE_PERF=1 "$bin/metrics-$side.test" -test.run TestHitCostRatio -test.v)
			(cd "$dir/proxies/logging" && DOGPILE_PERF=1 "$bin/logging-$side.test" -test.run TestHitCostRatio -test.v)
			(cd "$dir/backends/memory" && "$bin/memory-$side.test" -test.run '^$' -test.bench BenchmarkStampede -test.benchtime 20x -test.benchmem)
		} 2>&1 | grep -E 'ratio|x \(|/ .* = |Benchmark' | sed "s/^/$side /"
	done
done
