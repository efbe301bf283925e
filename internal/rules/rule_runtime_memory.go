package rules

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/lazyre"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/project/pysettings"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// The memory model. It estimates the resident memory of a Python web
// process group and compares it with the machine's memory. The figures are
// the low end of what such apps measure, so that the warning only fires
// when even an optimistic estimate does not fit:
//
//   - memSystemMB: what a Fly machine keeps for its kernel and init; a
//     256 MB machine leaves roughly 210–220 MB to the app.
//   - memSupervisorMB: gunicorn's arbiter (or uvicorn's process manager
//     with --workers > 1): 20–30 MB.
//   - memWorkerMB: one worker process with FastAPI or Django, pydantic and
//     SQLAlchemy imported, before serving: 60–100 MB resident.
//   - memConnMB: the client side of one pooled PostgreSQL connection
//     (socket buffers, driver state, asyncpg's statement cache): 1–3 MB.
//     Each worker has its own pool and may open pool_size + max_overflow
//     connections under load (SQLAlchemy's defaults: 5 + 10).
const (
	memSystemMB     = 40
	memSupervisorMB = 20
	memWorkerMB     = 60
	memConnMB       = 2

	defaultVMMemoryMB    = 256 // shared-cpu-1x, what fly deploy creates without [[vm]]
	sqlalchemyPoolSize   = 5
	sqlalchemyMaxOverflw = 10
)

var ruleRuntimeMemory = register(&Rule{
	ID:       "runtime-memory",
	Phase:    report.Runtime,
	Severity: report.Warning,
	Doc:      "the machine's memory is too small for the server's workers and their database pools",
	Why:      "Each worker is a separate Python process with its own connection pool; when they do not fit, the kernel kills them (`Out of memory: Killed process`), gunicorn logs `Worker ... was sent SIGKILL! Perhaps out of memory?` and the machine restarts in a loop.",
	Check:    checkRuntimeMemory,
})

// memEstimate is the estimate for one process group.
type memEstimate struct {
	group       *processGroup
	server      *webServer
	workers     int
	pool, over  int
	poolFrom    string
	totalMB     int
	vmMB        int
	vmFrom      string
	loc         report.Location
	connections int
}

func checkRuntimeMemory(r *Rule, p *project.Project) []report.Finding {
	cfg := p.Fly
	if cfg == nil {
		return nil
	}
	pool, over, poolFrom, usesPool := poolSizes(p)
	worst := map[report.Location]*memEstimate{}
	var order []report.Location
	for _, g := range serverGroups(p) {
		var s *webServer
		for _, cand := range g.Servers {
			if cand.Workers > 0 && (s == nil || cand.Workers > s.Workers) {
				s = cand
			}
		}
		if s == nil {
			continue
		}
		e := &memEstimate{group: g, server: s, workers: s.Workers}
		total := memSystemMB + s.Workers*memWorkerMB
		if s.Supervisor || s.Workers > 1 {
			total += memSupervisorMB
		}
		if usesPool {
			e.pool, e.over, e.poolFrom = pool, over, poolFrom
			e.connections = s.Workers * (pool + over)
			total += e.connections * memConnMB
		}
		e.totalMB = total
		e.vmMB, e.vmFrom, e.loc = vmMemory(cfg, g.Name, s)
		if e.totalMB <= e.vmMB {
			continue
		}
		if prev, ok := worst[e.loc]; ok {
			if e.totalMB > prev.totalMB {
				worst[e.loc] = e
			}
			continue
		}
		worst[e.loc] = e
		order = append(order, e.loc)
	}
	var out []report.Finding
	for _, loc := range order {
		out = append(out, memoryFinding(r, worst[loc]))
	}
	return out
}

func memoryFinding(r *Rule, e *memEstimate) report.Finding {
	s := e.server
	parts := []string{fmt.Sprintf("%d MB for the machine", memSystemMB)}
	if s.Supervisor || s.Workers > 1 {
		parts = append(parts, fmt.Sprintf("%d MB for %s's parent process", memSupervisorMB, s.Kind))
	}
	parts = append(parts, fmt.Sprintf("%d × %d MB per worker", e.workers, memWorkerMB))
	if e.connections > 0 {
		parts = append(parts, fmt.Sprintf("%d × (%d + %d) pooled connections × %d MB", e.workers, e.pool, e.over, memConnMB))
	}
	msg := fmt.Sprintf("The %q process group runs %s with %d worker(s) (%s, at %s), each a separate Python process with its own database pool (%s). An optimistic estimate is %d MB (%s), more than the machine's %d MB (%s).",
		e.group.Name, s.Kind, e.workers, s.WorkersFrom, s.WorkersLoc, e.poolDesc(), e.totalMB, strings.Join(parts, " + "), e.vmMB, e.vmFrom)
	if e.connections > 0 {
		msg += fmt.Sprintf(" Under load each machine may also open up to %d PostgreSQL connections; Postgres's default max_connections is 100 for all machines together.", e.connections)
	}
	fit := (e.vmMB - memSystemMB - memSupervisorMB) / (memWorkerMB + (e.pool+e.over)*memConnMB)
	if fit < 1 {
		fit = 1
	}
	fix := fmt.Sprintf("Give the machine more memory (`memory = \"%s\"` in [[vm]]), or run at most %d worker(s) on it", suggestMemory(e.totalMB), fit)
	if e.connections > 0 {
		fix += " and shrink the pool (pool_size + max_overflow)"
	}
	fix += "."
	return r.Finding(e.loc, fmt.Sprintf("%d MB machine for an estimated %d MB", e.vmMB, e.totalMB), msg, fix)
}

func (e *memEstimate) poolDesc() string {
	if e.connections == 0 {
		return "none found"
	}
	return fmt.Sprintf("pool_size %d + max_overflow %d, %s", e.pool, e.over, e.poolFrom)
}

// suggestMemory rounds an estimate up to a machine size Fly offers.
func suggestMemory(mb int) string {
	for _, m := range []int{512, 1024, 2048, 4096, 8192} {
		if mb <= m {
			if m >= 1024 {
				return strconv.Itoa(m/1024) + "gb"
			}
			return strconv.Itoa(m) + "mb"
		}
	}
	return "8gb"
}

var presetSize = lazyre.New(`^(shared-cpu|performance)-(\d+)x$`)

// vmMemory returns the memory of the group's machines, where it is set
// (the finding's location) and a description for messages.
func vmMemory(cfg *flytoml.Config, group string, s *webServer) (mb int, from string, loc report.Location) {
	vm := cfg.VMFor(group)
	if vm == nil {
		return defaultVMMemoryMB, "fly.toml has no [[vm]] for this group: fly deploy creates new machines as shared-cpu-1x with 256 MB, unless `fly scale memory` changed them", s.WorkersLoc
	}
	if vm.Memory.Set && vm.Memory.V > 0 {
		return vm.Memory.V, fmt.Sprintf("[[vm]] memory at %s", vm.Memory.Loc), vm.Memory.Loc
	}
	if vm.Size.Set {
		if m := presetSize.FindStringSubmatch(strings.ToLower(vm.Size.V)); m != nil {
			n, _ := strconv.Atoi(m[2])
			per := 256
			if m[1] == "performance" {
				per = 2048
			}
			return n * per, fmt.Sprintf("[[vm]] size %q at %s", vm.Size.V, vm.Size.Loc), vm.Size.Loc
		}
		// GPU and other presets come with gigabytes.
		return 1 << 20, "", vm.Size.Loc
	}
	cpus := vm.CPUs.Or(1)
	if cpus < 1 {
		cpus = 1
	}
	if strings.EqualFold(vm.CPUKind.V, "performance") {
		return cpus * 2048, fmt.Sprintf("[[vm]] at %s: performance CPUs, no memory set", vm.Loc), vm.Loc
	}
	return cpus * 256, fmt.Sprintf("[[vm]] at %s: %d shared CPU(s), no memory set", vm.Loc, cpus), vm.Loc
}

// poolSizes returns the database pool size and overflow each worker
// process uses, where they come from, and whether the app uses a
// SQLAlchemy (or asyncpg) pool at all.
func poolSizes(p *project.Project) (pool, over int, from string, uses bool) {
	var lits []pysettings.Literal
	for _, m := range p.Settings {
		lits = append(lits, m.PoolSizes...)
	}
	env := newServerReader(p).env
	value := func(l pysettings.Literal) (int, bool) {
		for _, name := range []string{l.Env, l.Name} {
			if name == "" {
				continue
			}
			if v, _, ok := env.get(name); ok {
				if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
					return n, true
				}
			}
		}
		return l.Value, l.HasValue
	}
	// resolve finds the value of a keyword (pool_size=...), following a
	// reference such as settings.DB_POOL_SIZE to the field it names.
	resolve := func(kw string, like string) (int, string, bool) {
		for _, l := range lits {
			if l.Name != kw {
				continue
			}
			if n, ok := value(l); ok {
				return n, fmt.Sprintf("%s=%d at %s", kw, n, l.Loc), true
			}
			ref := l.Expr
			if i := strings.LastIndexAny(ref, ".["); i >= 0 {
				ref = strings.Trim(ref[i+1:], "[]\"' ")
			}
			for _, f := range lits {
				if strings.EqualFold(f.Name, ref) && f.Name != kw {
					if n, ok := value(f); ok {
						return n, fmt.Sprintf("%s=%d at %s", f.Name, n, f.Loc), true
					}
				}
			}
		}
		for _, l := range lits {
			if strings.Contains(strings.ToUpper(l.Name), like) && l.Name != kw {
				if n, ok := value(l); ok {
					return n, fmt.Sprintf("%s=%d at %s", l.Name, n, l.Loc), true
				}
			}
		}
		return 0, "", false
	}
	if n, f, ok := resolve("max_size", "__none__"); ok {
		// asyncpg.create_pool(max_size=...): no overflow.
		return n, 0, f, true
	}
	pool, pf, pok := resolve("pool_size", "POOL_SIZE")
	over, of, ook := resolve("max_overflow", "MAX_OVERFLOW")
	uses = pok || ook || usesSQLAlchemy(p)
	if !uses {
		return 0, 0, "", false
	}
	var srcs []string
	if !pok {
		pool = sqlalchemyPoolSize
		srcs = append(srcs, "SQLAlchemy's default pool_size 5")
	} else {
		srcs = append(srcs, pf)
	}
	if !ook {
		over = sqlalchemyMaxOverflw
		srcs = append(srcs, "SQLAlchemy's default max_overflow 10")
	} else {
		srcs = append(srcs, of)
	}
	return pool, over, strings.Join(srcs, ", "), true
}

// usesSQLAlchemy reports whether the project depends on SQLAlchemy.
func usesSQLAlchemy(p *project.Project) bool {
	for _, f := range p.PyDeps {
		for _, req := range f.Requirements {
			switch req.Name {
			case "sqlalchemy", "sqlmodel", "flask-sqlalchemy":
				if req.Group == "" && !req.Constraint {
					return true
				}
			}
		}
	}
	return false
}
