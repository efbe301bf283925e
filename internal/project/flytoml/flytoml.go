// Package flytoml loads a fly.toml into a typed model in which every value a
// rule may point at carries its file, line and column.
//
// Parse follows flyctl's own reading of the file (internal/appconfig and its
// patches): the oddities flyctl tolerates load silently ([vm] as a table,
// auto_stop_machines = true, ports as strings, memory as an integer, the old
// generated `processes = []`, [[services.ports]] without [[services]], ...).
// What flyctl refuses is reported as an error finding (rule fly-toml-syntax
// for invalid TOML, fly-toml-type for a value of the wrong type), and what it
// silently ignores as a warning (fly-toml-unknown-key for a key it does not
// know, fly-toml-type for a value it drops or reads unexpectedly).
package flytoml

import (
	"path"
	"slices"
	"sort"
	"unicode/utf8"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Parse loads data, the content of the fly.toml at relPath (relative to the
// validated directory, forward slashes). It never fails: problems are
// returned as findings, with as much of the model as could be recovered.
// The config is nil only when nothing could be recovered.
func Parse(relPath string, data []byte) (*Config, []report.Finding) {
	if relPath != "" {
		relPath = path.Clean(relPath)
	}
	if !utf8.Valid(data) {
		return nil, []report.Finding{syntaxFinding(report.At(relPath, 1, 1),
			"fly.toml is not UTF-8 text, so it is not valid TOML",
			"Save fly.toml as UTF-8 (without a byte order mark).")}
	}
	root, work, findings := decode(relPath, data)
	if root == nil {
		sortFindings(findings)
		return nil, findings
	}
	ps, _ := walkPositions(relPath, work)
	c := &conv{file: relPath, data: work, pos: ps}
	cfg := c.config(root)
	findings = append(findings, c.findings...)
	sortFindings(findings)
	return cfg, findings
}

func sortFindings(fs []report.Finding) {
	sort.SliceStable(fs, func(i, j int) bool {
		if fs[i].Line != fs[j].Line {
			return fs[i].Line < fs[j].Line
		}
		return fs[i].Column < fs[j].Column
	})
}

// Loc returns where the key path is written, e.g. "deploy.release_command",
// "services[1].ports[0].port", "http_service.checks[0].path" or
// "vm[2].memory". Elements of an array of tables are indexed from 0; a
// single table that flyctl reads as a list of one ([vm], [mounts],
// [[services.ports]] without [[services]]) answers both as "vm.memory" and
// "vm[0].memory". Keys that need quoting are quoted: env."MY.VAR".
func (c *Config) Loc(keyPath string) (report.Location, bool) {
	if c == nil || c.pos == nil {
		return report.Location{}, false
	}
	kp, ok := c.pos.find(keyPath)
	if !ok {
		return report.Location{}, false
	}
	return kp.loc, true
}

// AllServices returns the services flyctl deploys: [http_service] seen as a
// TCP service on ports 80 (HTTP, force_https as configured) and 443 (TLS +
// HTTP), followed by the [[services]].
func (c *Config) AllServices() []Service {
	if c == nil {
		return nil
	}
	var out []Service
	if h := c.HTTPService; h != nil {
		loc := h.Loc
		out = append(out, Service{
			Protocol:           Value[string]{V: "tcp", Loc: loc, Set: true},
			InternalPort:       h.InternalPort,
			AutoStopMachines:   h.AutoStopMachines,
			AutoStartMachines:  h.AutoStartMachines,
			MinMachinesRunning: h.MinMachinesRunning,
			Processes:          h.Processes,
			Concurrency:        h.Concurrency,
			HTTPChecks:         h.Checks,
			Ports: []Port{{
				Port:       Value[int]{V: 80, Loc: loc, Set: true},
				Handlers:   []string{"http"},
				ForceHTTPS: h.ForceHTTPS,
				Loc:        loc,
			}, {
				Port:       Value[int]{V: 443, Loc: loc, Set: true},
				Handlers:   []string{"tls", "http"},
				TLSOptions: h.TLSOptions,
				Loc:        loc,
			}},
			Index:           -1,
			FromHTTPService: true,
			Loc:             loc,
		})
	}
	return append(out, c.Services...)
}

// AllChecks returns every health check: [[http_service.checks]], then the
// HTTP and TCP checks of each [[services]], then the top-level
// [checks.NAME].
func (c *Config) AllChecks() []Check {
	if c == nil {
		return nil
	}
	var out []Check
	if c.HTTPService != nil {
		out = append(out, c.HTTPService.Checks...)
	}
	for _, s := range c.Services {
		out = append(out, s.HTTPChecks...)
		out = append(out, s.TCPChecks...)
	}
	return append(out, c.Checks...)
}

// VMFor returns the [[vm]] that applies to the process group, picked as
// flyctl picks it (ComputeForGroup): among the sections that list the group
// in their processes or list no processes, the last one that lists the
// group, else the first one. An empty group means DefaultProcess. It
// returns nil when no section applies.
func (c *Config) VMFor(process string) *VM {
	if c == nil {
		return nil
	}
	if process == "" {
		process = c.DefaultProcess()
	}
	var found *VM
	for i := range c.VMs {
		vm := &c.VMs[i]
		named := slices.Contains(vm.Processes, process)
		if !named && len(vm.Processes) > 0 {
			continue
		}
		if found == nil || named {
			found = vm
		}
	}
	return found
}

// AppProcess is the process group of an app without [processes].
const AppProcess = "app"

// ProcessNames returns the process groups in file order, or just "app" when
// the file declares none. (flyctl lists them sorted by name.)
func (c *Config) ProcessNames() []string {
	if c == nil || len(c.ProcessKeys) == 0 {
		return []string{AppProcess}
	}
	return slices.Clone(c.ProcessKeys)
}

// DefaultProcess returns the group that flyctl gives the sections without a
// processes list ([http_service], [[services]], [[mounts]], [checks]...):
// "app" when it is a group (or no group is declared), else the first group
// in name order.
func (c *Config) DefaultProcess() string {
	names := c.ProcessNames()
	if slices.Contains(names, AppProcess) {
		return AppProcess
	}
	return slices.Min(names)
}
