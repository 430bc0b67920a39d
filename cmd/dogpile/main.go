// Command dogpile is the command of dogpile-go: a cache stampede benchmark
// that shows what the dogpile lock buys, and a tool to look into a
// configured store.
//
//	dogpile bench [--duration 10s] [--json] [--plot FILE.svg|png] [--config FILE --section NAME] [--procs N]
//	dogpile get|set|delete|lock KEY ...
//	dogpile backends
//	dogpile completion bash|zsh|fish|powershell
//
// Install it with
//
//	go install github.com/dogpile-go/dogpile/cmd/dogpile@latest
//
// and run `dogpile --help`, or see docs/cli.md.
package main

import (
	"os"

	"github.com/dogpile-go/dogpile/cmd/dogpile/internal/cli"

	// The backends, registered by short name for configuration files, and
	// the proxies (wrap = logging, wrap = metrics).
	_ "github.com/dogpile-go/dogpile/backends/gocache"
	_ "github.com/dogpile-go/dogpile/backends/memcache"
	_ "github.com/dogpile-go/dogpile/backends/memory"
	_ "github.com/dogpile-go/dogpile/backends/redis"
	_ "github.com/dogpile-go/dogpile/proxies/logging"
	_ "github.com/dogpile-go/dogpile/proxies/metrics"
)

func main() {
	os.Exit(cli.Main())
}
