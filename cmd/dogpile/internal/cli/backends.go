package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/dogpile-go/dogpile/region"
)

func (a *App) backendsCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "backends",
		Short: "List the registered backends with their arguments and defaults",
		Long: `List every backend registered in this program by short name, with its
arguments and their defaults. Give arguments in a config section as
arguments.<name> = value (or with --arg name=value). The registered proxies,
for a section's wrap key, are listed at the end.

Backends registered by other code (plugins) are listed with no documented
arguments.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			var docs []backendDoc
			for _, name := range region.RegisteredBackends() {
				d, known := docFor(name)
				if !known {
					d.Args = nil
				}
				docs = append(docs, d)
			}
			if asJSON {
				b, err := json.MarshalIndent(struct {
					Backends []backendDoc `json:"backends"`
					Proxies  []string     `json:"proxies"`
				}{docs, region.RegisteredProxies()}, "", "  ")
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout(), "%s\n", b)
				return err
			}
			text := formatBackends(docs)
			proxies := "none"
			if p := region.RegisteredProxies(); len(p) > 0 {
				proxies = strings.Join(p, ", ")
			}
			text += "\nproxies for the wrap key: " + proxies + "\n"
			_, err := fmt.Fprint(a.stdout(), text)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the list as JSON")
	return cmd
}

// formatBackends lays the backends out for a person: the name and what it
// is, where values live, then one line per argument.
func formatBackends(docs []backendDoc) string {
	var b strings.Builder
	for i, d := range docs {
		if i > 0 {
			b.WriteByte('\n')
		}
		where := "in this process"
		if d.Shared {
			where = "shared: on the server, across processes"
		}
		_, known := docFor(d.Name)
		switch {
		case !known:
			where = "plugin"
		case d.Refused:
			where = "refused"
		}
		fmt.Fprintf(&b, "%s  (%s)\n", d.Name, where)
		if d.Summary != "" {
			fmt.Fprintf(&b, "    %s\n", d.Summary)
		}
		if d.Package != "" {
			fmt.Fprintf(&b, "    package %s\n", d.Package)
		}
		switch {
		case !known:
			b.WriteString("    (no documented arguments)\n")
		case d.Refused:
		case len(d.Args) == 0:
			b.WriteString("    no arguments\n")
		default:
			nameW, defW := 0, 0
			for _, a := range d.Args {
				nameW = max(nameW, len(a.Name))
				defW = max(defW, len(defaultText(a.Default)))
			}
			for _, a := range d.Args {
				def := defaultText(a.Default)
				fmt.Fprintf(&b, "    %-*s  %-*s  %s\n", nameW, a.Name, defW, def, a.Doc)
			}
		}
	}
	return b.String()
}

// defaultText shows an argument's default: "default 3s", or "required".
func defaultText(def string) string {
	switch def {
	case "":
		return ""
	case "(required)":
		return "required"
	}
	return "default " + def
}
