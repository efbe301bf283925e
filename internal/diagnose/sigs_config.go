package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Config: flyctl refuses fly.toml before anything is built. These surface
// in the build phase, as in a validate report.

func configSigs() []*Signature {
	return []*Signature{
		{
			ID: "log-fly-toml-invalid", Phase: report.Build, Severity: report.Error,
			Literals: []string{"failed loading app config from "},
			Patterns: res(`failed loading app config from (?P<file>\S*?fly\.toml)?:?\s*(?:toml: )?(?:row|line) (?P<line>\d+)(?: column (?P<col>\d+))?:?\s*(?P<detail>.*)`,
				`failed loading app config from (?P<file>\S*)`),
			Follow: 10,
			Title:  "fly.toml is not valid TOML",
			Cause:  "flyctl cannot read fly.toml{$at}{$detail}",
			Fix:    "Fix the TOML at that line (run `deploy-action validate` to see every problem with its position), then deploy again.",
			Refine: func(m *Match) bool {
				if strings.Contains(m.Get("detail"), "has already been defined") {
					if g := dupKey.FindStringSubmatch(m.Get("detail")); g != nil {
						m.Set("key", g[1])
					}
					m.Switch("log-fly-toml-duplicate")
				}
				detail := strings.TrimSpace(m.Get("detail"))
				if detail == "" {
					for _, l := range m.After(10) {
						if g := caretLine.FindStringSubmatch(l); g != nil {
							detail = g[1]
							break
						}
					}
				}
				if detail != "" {
					m.Set("detail", ": "+strings.TrimSuffix(detail, "."))
				}
				if m.Get("line") != "" {
					m.Set("at", " at line "+m.Get("line"))
				}
				return true
			},
			Point: pointFlyLine,
		},
		{
			ID: "log-fly-toml-duplicate", Phase: report.Build, Severity: report.Error, Derived: true,
			Title: "fly.toml defines a table twice",
			Cause: "flyctl cannot read fly.toml: {$key|a key or table} is defined a second time at line {$line|?}",
			Fix:   "Merge the two [{$key|…}] sections into one (TOML allows each table once; use [[…]] for a list of tables).",
			Point: pointFlyLine,
		},
		{
			ID: "log-process-group-undefined", Phase: report.Build, Severity: report.Error,
			Literals: []string{"as one of its processes, but no processes are defined with that name"},
			Patterns: res(`specifies '(?P<group>[^']*)' as one of its processes`),
			Title:    "service names an undefined process group",
			Cause:    "A service of fly.toml runs on the process group {$group}, which [processes] does not define",
			Fix:      "Add {$group} = \"<command>\" to [processes], or change the service's processes list to a group [processes] defines (without a [processes] section the only group is \"app\").",
			Point: func(p *project.Project, m *Match) Pointer {
				g := m.Get("group")
				if p.Fly == nil {
					return Pointer{}
				}
				if h := p.Fly.HTTPService; h != nil && slices.Contains(h.Processes, g) {
					if ptr := flyKey(p, "http_service.processes", ""); ptr.Loc.File != "" {
						return ptr
					}
				}
				for i, s := range p.Fly.Services {
					if slices.Contains(s.Processes, g) {
						if ptr := flyKey(p, fmt.Sprintf("services[%d].processes", i), ""); ptr.Loc.File != "" {
							return ptr
						}
					}
				}
				return first(flyKey(p, "processes", "fly.toml's [processes] is here."), flyFile(p, ""))
			},
		},
		{
			ID: "log-volume-missing", Phase: report.Release, Severity: report.Error,
			Literals: []string{"needs an unattached volume named"},
			Patterns: res(`(?:group '(?P<group>[^']*)' )?needs an unattached volume named '(?P<volume>[^']*)' in region '(?P<region>[^']*)'`),
			Title:    "no free volume {$volume} in {$region}",
			Cause:    "fly.toml mounts a volume named {$volume}, and region {$region} has no unattached volume of that name for the new machine",
			Fix:      "Create one per machine: `fly volumes create {$volume} --region {$region} --size 1`; or remove the [mounts] section if the app does not need a disk.",
			Point: func(p *project.Project, m *Match) Pointer {
				if p.Fly == nil {
					return Pointer{}
				}
				for _, mt := range p.Fly.Mounts {
					if mt.Source.V == m.Get("volume") && mt.Source.Set {
						return Pointer{Loc: mt.Source.Loc, Note: "fly.toml mounts it here."}
					}
				}
				if len(p.Fly.Mounts) > 0 {
					return Pointer{Loc: p.Fly.Mounts[0].Loc, Note: "fly.toml's [mounts] is here."}
				}
				return Pointer{}
			},
		},
	}
}

var (
	dupKey    = lazyre.New(`Key '([^']+)' has already been defined`)
	caretLine = lazyre.New(`^\s*\|\s*~+\s*(.+)$`)
)

// pointFlyLine points at the line of fly.toml a flyctl error names.
func pointFlyLine(p *project.Project, m *Match) Pointer {
	var line, col int
	fmt.Sscan(m.Get("line"), &line)
	fmt.Sscan(m.Get("col"), &col)
	return flyLine(p, line, col, "")
}
