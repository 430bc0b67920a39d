// Package suggest finds the name a user probably meant, for "did you mean"
// hints in errors about unknown backend arguments, configuration options
// and backend names.
package suggest

import (
	"strings"

	"github.com/agnivade/levenshtein"
)

// Closest returns the candidate nearest to name, or "" when none is near
// enough to be a likely typo. Case is ignored; a candidate within an edit
// distance of 2 (1 for names of 4 characters or fewer) qualifies, and of
// several the nearest wins, then the first given.
func Closest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	limit := 2
	if len(name) <= 4 {
		limit = 1
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(lower, strings.ToLower(c))
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
