package cli

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/internal/bench"
	"github.com/dogpile-go/dogpile/oslocache"
	"github.com/dogpile-go/dogpile/region"
)

// helpCmd replaces cobra's help command, which exits 0 on an unknown
// topic: `dogpile help nosuch` is an error (exit status 2).
func (a *App) helpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of any command: dogpile help bench.",
		ValidArgsFunction: func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return subcommandNames(c.Root()), cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			target, rest, err := c.Root().Find(args)
			if err != nil || target == nil || len(rest) > 0 || (len(args) > 0 && target == c.Root()) {
				return userErrorf("help %s: no such command (commands: %s)", strings.Join(args, " "), strings.Join(subcommandNames(c.Root()), ", "))
			}
			target.InitDefaultHelpFlag()
			target.InitDefaultVersionFlag()
			return target.Help()
		},
	}
}

// subcommandNames lists the visible subcommands of root.
func subcommandNames(root *cobra.Command) []string {
	var names []string
	for _, c := range root.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
		}
	}
	return names
}

// registerCompletions completes flag values in the shells' completion
// (dogpile completion bash|zsh|fish|powershell): backend names, the
// sections of the --config file, backend arguments, strategies and
// progress modes.
func registerCompletions(root *cobra.Command) {
	noFiles := cobra.ShellCompDirectiveNoFileComp
	_ = root.RegisterFlagCompletionFunc("backend", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return region.RegisteredBackends(), noFiles
	})
	_ = root.RegisterFlagCompletionFunc("section", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		path, _ := c.Flags().GetString("config")
		return iniSections(path), noFiles
	})
	_ = root.RegisterFlagCompletionFunc("config", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"ini", "conf", "cfg"}, cobra.ShellCompDirectiveFilterFileExt
	})
	_ = root.RegisterFlagCompletionFunc("arg", func(c *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
		backend, _ := c.Flags().GetString("backend")
		if backend == "" {
			return nil, noFiles
		}
		doc, _ := docFor(backend)
		var names []string
		for _, arg := range doc.Args {
			for _, n := range strings.Split(arg.Name, ", ") {
				if !strings.ContainsAny(n, " .") {
					names = append(names, n+"=")
				}
			}
		}
		return names, noFiles | cobra.ShellCompDirectiveNoSpace
	})
	for _, c := range root.Commands() {
		if c.Name() != "bench" {
			continue
		}
		_ = c.RegisterFlagCompletionFunc("strategies", completeStrategies)
		_ = c.RegisterFlagCompletionFunc("progress", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"auto", "always", "never"}, noFiles
		})
		_ = c.RegisterFlagCompletionFunc("plot", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"svg", "png"}, cobra.ShellCompDirectiveFilterFileExt
		})
	}
}

// completeStrategies completes the last name of a comma-separated list of
// strategies, leaving out those already given.
func completeStrategies(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	done, _ := cutLast(toComplete, ",")
	given := strings.Split(done, ",")
	prefix := ""
	if done != "" {
		prefix = done + ","
	}
	var out []string
	for _, s := range append(bench.AllStrategies(), "all") {
		if !slices.Contains(given, string(s)) {
			out = append(out, prefix+string(s))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// cutLast splits s around the last sep: "a,b,c" -> "a,b", "c"; without sep
// -> "", s.
func cutLast(s, sep string) (before, after string) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return "", s
	}
	return s[:i], s[i+len(sep):]
}

// iniSections lists the sections of an INI file, for --section; none when
// the file cannot be read.
func iniSections(path string) []string {
	if path == "" {
		return []string{defaultSection}
	}
	f, err := oslocache.ReadINI(path)
	if err != nil {
		return nil
	}
	var out []string
	for _, s := range f.Sections() {
		if s != iniDefaultSection {
			out = append(out, s)
		}
	}
	return out
}
