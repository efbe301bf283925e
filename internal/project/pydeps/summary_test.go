package pydeps

import (
	"fmt"
	"strings"
)

// summary formats a requirement compactly for table tests:
// "line:col[-end] name[extras]spec ;marker @url pep440=… -e hash opt const g=group".
func summary(r Requirement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:%d", r.Loc.Line, r.Loc.Column)
	if r.Loc.EndLine != r.Loc.Line {
		fmt.Fprintf(&b, "-%d", r.Loc.EndLine)
	}
	b.WriteString(" " + r.Name)
	if len(r.Extras) > 0 {
		b.WriteString("[" + strings.Join(r.Extras, ",") + "]")
	}
	b.WriteString(r.Specifier)
	if r.PEP440 != r.Specifier {
		b.WriteString(" pep440=" + r.PEP440)
	}
	if r.Marker != "" {
		b.WriteString(" ;" + r.Marker)
	}
	if r.URL != "" {
		b.WriteString(" @" + r.URL)
	}
	for _, f := range []struct {
		on   bool
		text string
	}{{r.Editable, "-e"}, {r.Hashes, "hash"}, {r.Optional, "opt"}, {r.Constraint, "const"}} {
		if f.on {
			b.WriteString(" " + f.text)
		}
	}
	if r.Group != "" {
		b.WriteString(" g=" + r.Group)
	}
	return b.String()
}
