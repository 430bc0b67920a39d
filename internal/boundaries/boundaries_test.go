package boundaries

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dogpile-go/dogpile"

// inProcess are the packages a program that keeps its values in process
// imports: the region (and its conformance suite, for plugin authors),
// the memory backends, Keystone's KVS on them, and the in-process mutex.
var inProcess = []string{
	module + "/region",
	module + "/region/regiontest",
	module + "/backends/memory",
	module + "/kvs",
	module + "/lockmutex",
}

// networkClients are the import paths none of them may depend on, with the
// packages below them: the network clients and what is built on them.
var networkClients = []string{
	"github.com/redis/go-redis",
	"github.com/bradfitz/gomemcache",
	"github.com/eko/gocache",
	"github.com/prometheus",
	"github.com/bsm/redislock",
	module + "/backends/memcache",
	module + "/backends/redis",
	module + "/backends/gocache",
	module + "/lockmutex/memcachedmutex",
	module + "/lockmutex/redismutex",
	module + "/internal/memcacheutil",
	module + "/proxies/metrics",
}

func TestInProcessPackagesLinkNoNetworkClient(t *testing.T) {
	goCmd := goCommand(t)
	for _, pkg := range inProcess {
		t.Run(strings.TrimPrefix(pkg, module+"/"), func(t *testing.T) {
			graph := importGraph(t, goCmd, pkg)
			if len(graph) < 2 {
				t.Fatalf("go list -deps %s listed %d packages; want the package and its dependencies", pkg, len(graph))
			}
			for _, dep := range slices.Sorted(maps.Keys(graph)) {
				if isNetworkClient(dep) {
					t.Errorf("%s depends on %s: %s", pkg, dep, strings.Join(importChain(graph, pkg, dep), " -> "))
				}
			}
		})
	}
}

// The check itself: a package that does link a client is caught, with the
// chain that pulls it in.
func TestCheckFindsAClient(t *testing.T) {
	goCmd := goCommand(t)
	pkg := module + "/backends/memcache"
	graph := importGraph(t, goCmd, pkg)
	client := "github.com/bradfitz/gomemcache/memcache"
	if _, ok := graph[client]; !ok || !isNetworkClient(client) {
		t.Fatalf("%s: gomemcache not found among its dependencies", pkg)
	}
	chain := importChain(graph, pkg, client)
	if len(chain) < 2 || chain[0] != pkg || chain[len(chain)-1] != client {
		t.Fatalf("import chain %v; want one from %s to %s", chain, pkg, client)
	}
	for _, p := range []string{module + "/backends/memory", module + "/region", "github.com/redis/go-redisx", "github.com/prometheus2"} {
		if isNetworkClient(p) {
			t.Errorf("%s counts as a network client", p)
		}
	}
	for _, p := range []string{"github.com/redis/go-redis/v9", "github.com/prometheus/client_golang/prometheus", "github.com/bsm/redislock"} {
		if !isNetworkClient(p) {
			t.Errorf("%s does not count as a network client", p)
		}
	}
}

func isNetworkClient(importPath string) bool {
	for _, p := range networkClients {
		if importPath == p || strings.HasPrefix(importPath, p+"/") {
			return true
		}
	}
	return false
}

// goCommand returns the go command's path. Without one the test skips,
// or fails under CI=true.
func goCommand(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("go")
	if err != nil {
		msg := "the go command is not on PATH (" + err.Error() + "): cannot list dependencies"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// importGraph returns pkg's dependencies (pkg included, as go list -deps
// lists them for a build of pkg without its tests), each with its direct
// imports.
func importGraph(t *testing.T, goCmd, pkg string) map[string][]string {
	t.Helper()
	cmd := exec.Command(goCmd, "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", pkg)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr.String())
	}
	graph := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			graph[fields[0]] = fields[1:]
		}
	}
	return graph
}

// importChain returns the shortest chain of imports from pkg to dep.
func importChain(graph map[string][]string, pkg, dep string) []string {
	prev := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == dep {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, imp := range graph[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return []string{pkg, "?", dep}
}
