package flytoml

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Shapes of the sections flyctl knows but the model does not keep. They
// follow flyctl's internal/appconfig and fly-go's machine types.
var (
	tlsOptionsShape  = shape{"alpn": nil, "versions": nil, "default_self_signed": nil}
	httpOptionsShape = shape{
		"compress":             nil,
		"h2_backend":           nil,
		"idle_timeout":         nil,
		"headers_read_timeout": nil,
		"response":             shape{"headers": freeForm, "pristine": nil},
		"replay_cache":         shape{"path_prefix": nil, "ttl_seconds": nil, "type": nil, "name": nil, "allow_bypass": nil},
	}
	proxyProtoShape   = shape{"version": nil}
	machineCheckShape = shape{"command": nil, "image": nil, "entrypoint": nil, "kill_signal": nil, "kill_timeout": nil}
)

// config converts the decoded document.
func (c *conv) config(root map[string]any) *Config {
	t := c.table("", root)
	cfg := &Config{
		Path: c.file,
		pos:  c.pos,
	}
	cfg.App = t.str("app")
	cfg.PrimaryRegion = t.str("primary_region")
	cfg.KillSignal = t.str("kill_signal")
	cfg.KillTimeout = t.duration("kill_timeout", bareSeconds)
	cfg.SwapSizeMB = t.integer("swap_size_mb", false)
	cfg.ConsoleCommand = t.str("console_command")
	t.str("host_dedication_id")
	t.str("machine_config")
	t.str("container")

	if x := t.sub("experimental"); x != nil {
		cfg.Experimental = c.experimental(x, cfg)
	}
	if b := t.sub("build"); b != nil {
		cfg.Build = c.build(b)
	}
	if d := t.sub("deploy"); d != nil {
		cfg.Deploy = c.deploy(d)
	}
	c.env(t, cfg)
	c.processes(t, cfg)
	if h := t.sub("http_service"); h != nil {
		cfg.HTTPService = c.httpService(h)
	}
	for _, s := range t.list("services", true) {
		if len(s.m) == 0 {
			continue // flyctl drops a [[services]] without keys
		}
		cfg.Services = append(cfg.Services, c.service(s, len(cfg.Services)))
	}
	multi := len(cfg.Services) > 1
	for i := range cfg.Services {
		c.nameServiceChecks(&cfg.Services[i], multi)
	}
	c.topChecks(t, cfg)
	for _, key := range []string{"vm", "compute", "computes"} {
		for _, v := range t.list(key, true) {
			cfg.VMs = append(cfg.VMs, *c.vm(v))
		}
	}
	for _, key := range []string{"mounts", "mount"} {
		for _, m := range t.list(key, true) {
			cfg.Mounts = append(cfg.Mounts, c.mount(m))
		}
	}
	for _, s := range t.list("statics", false) {
		cfg.Statics = append(cfg.Statics, Static{
			GuestPath:     s.str("guest_path"),
			URLPrefix:     s.str("url_prefix"),
			TigrisBucket:  s.str("tigris_bucket"),
			IndexDocument: s.str("index_document"),
			Loc:           s.loc,
		})
		s.done()
	}
	for _, key := range []string{"metrics", "metric"} {
		for _, m := range t.list(key, true) {
			cfg.Metrics = append(cfg.Metrics, Metrics{
				Port:      m.integer("port", false),
				Path:      m.str("path"),
				HTTPS:     m.boolean("https"),
				Processes: m.strs("processes", false),
				Loc:       m.loc,
			})
			m.done()
		}
	}
	for _, r := range t.list("restart", false) {
		cfg.Restarts = append(cfg.Restarts, Restart{
			Policy:    r.str("policy"),
			Retries:   r.integer("retries", false),
			Processes: r.strs("processes", false),
			Loc:       r.loc,
		})
		r.done()
	}
	for _, f := range t.list("files", false) {
		f.strQuiet("raw_value")
		cfg.Files = append(cfg.Files, File{
			GuestPath:  f.str("guest_path"),
			LocalPath:  f.str("local_path"),
			SecretName: f.strQuiet("secret_name"),
			Processes:  f.strs("processes", false),
			Loc:        f.loc,
		})
		f.done()
	}
	t.opaque("machine_checks", machineCheckShape)
	if cfg.Experimental != nil && len(cfg.Metrics) == 0 {
		c.legacyMetrics(t, cfg)
	}
	t.done()
	return cfg
}

func (c *conv) experimental(t *table, cfg *Config) *Experimental {
	x := &Experimental{
		Cmd:          t.strs("cmd", true),
		Entrypoint:   t.strs("entrypoint", true),
		Exec:         t.strs("exec", true),
		AutoRollback: t.boolean("auto_rollback"),
		Loc:          t.loc,
	}
	for _, k := range []string{"enable_consul", "enable_etcd", "lazy_load_images", "use_zstd"} {
		t.boolean(k)
	}
	t.str("machine_config")
	t.opaque("attached", shape{"secrets": shape{"export": freeForm}})
	// Legacy keys flyctl still reads or used to generate.
	if kt := t.duration("kill_timeout", bareSeconds); kt.Set && !cfg.KillTimeout.Set {
		cfg.KillTimeout = kt
	}
	t.known("metrics_port", "metrics_path", "private_network", "allowed_public_ports")
	t.done()
	return x
}

// legacyMetrics turns [experimental] metrics_port/metrics_path into a
// metrics entry, as flyctl does when there is no [metrics].
func (c *conv) legacyMetrics(root *table, cfg *Config) {
	m, _ := root.m["experimental"].(map[string]any)
	x := c.table("experimental", m)
	port := x.integer("metrics_port", false)
	path := x.str("metrics_path")
	if port.Set || path.Set {
		cfg.Metrics = append(cfg.Metrics, Metrics{Port: port, Path: path, Loc: x.loc})
	}
}

func (c *conv) build(t *table) *Build {
	b := &Build{
		Dockerfile: t.str("dockerfile"),
		Image:      t.str("image"),
		Builder:    t.str("builder"),
		Builtin:    t.str("builtin"),
		Ignorefile: t.str("ignorefile"),
		Target:     t.str("build-target"),
		Buildpacks: t.strs("buildpacks", false),
		Loc:        t.loc,
	}
	if legacy := t.str("build_target"); !b.Target.Set {
		b.Target = legacy
	}
	t.opaque("settings", freeForm)
	if a := t.sub("args"); a != nil {
		b.Args = make(map[string]Value[string], len(a.m))
		for _, k := range c.orderedKeys(a.path, a.m) {
			v, _ := a.get(k)
			if _, isStr := v.(string); !isStr {
				a.wrongType(k, v, "a string", fmt.Sprintf("Put the value in double quotes, e.g. `%s = \"...\"`: flyctl refuses build arguments that are not strings.", k), true, false)
				continue
			}
			b.Args[k] = a.strQuiet(k)
			b.ArgKeys = append(b.ArgKeys, k)
		}
	}
	t.done()
	return b
}

func (c *conv) deploy(t *table) *Deploy {
	d := &Deploy{
		ReleaseCommand:        t.str("release_command"),
		Strategy:              t.str("strategy"),
		MaxUnavailable:        t.float("max_unavailable"),
		WaitTimeout:           t.duration("wait_timeout", bareNanos),
		ReleaseCommandTimeout: t.duration("release_command_timeout", bareNanos),
		SeedCommand:           t.str("seed_command"),
		Loc:                   t.loc,
	}
	if vm := t.sub("release_command_vm"); vm != nil {
		d.ReleaseCommandVM = c.vm(vm)
	}
	t.done()
	return d
}

// env reads [env], or the old [[env]] list whose entries flyctl merges.
func (c *conv) env(root *table, cfg *Config) {
	v, ok := root.get("env")
	if !ok {
		return
	}
	var tables []*table
	switch x := v.(type) {
	case map[string]any:
		tables = append(tables, c.table("env", x))
	case []any:
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				root.wrongType("env", v, "a table", "Write the variables in an [env] section, one `NAME = \"value\"` a line.", true, false)
				return
			}
			tables = append(tables, c.table(indexPath("env", i), m))
		}
	default:
		root.wrongType("env", v, "a table", "Write the variables in an [env] section, one `NAME = \"value\"` a line.", true, false)
		return
	}
	cfg.Env = make(map[string]Value[string])
	for _, t := range tables {
		for _, k := range c.orderedKeys(t.path, t.m) {
			raw, _ := t.get(k)
			val := t.scalarString(k)
			if !val.Set {
				continue
			}
			if f, isFloat := raw.(float64); isFloat {
				written := c.rawValue(t.keyPath(k))
				if written != "" && written != val.V {
					c.add(report.Finding{
						Rule:     RuleType,
						Severity: report.Warning,
						Location: val.Loc,
						Title:    "Number in [env] changes when passed to the app",
						Message:  fmt.Sprintf("`%s = %s` in [env] is a number, so flyctl passes it to the app as %q", k, written, strconv.FormatFloat(f, 'g', -1, 64)),
						Fix:      fmt.Sprintf("Quote the value to pass it as written: `%s = \"%s\"`.", k, written),
					})
				}
			}
			if _, seen := cfg.Env[k]; !seen {
				cfg.EnvKeys = append(cfg.EnvKeys, k)
			}
			cfg.Env[k] = val
		}
	}
}

// processes reads [processes]; the old generated `processes = []` and the
// [[processes]] list of name/command pairs are accepted as flyctl does.
func (c *conv) processes(root *table, cfg *Config) {
	v, ok := root.get("processes")
	if !ok {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		t := c.table("processes", x)
		cfg.Processes = make(map[string]Value[string], len(x))
		for _, k := range c.orderedKeys(t.path, x) {
			val := t.str(k)
			if !val.Set {
				continue
			}
			cfg.Processes[k] = val
			cfg.ProcessKeys = append(cfg.ProcessKeys, k)
		}
	case []any:
		ignored := 0
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				ignored++
				continue
			}
			t := c.table(indexPath("processes", i), m)
			name := t.scalarString("name")
			cmd := t.scalarString("command")
			t.done()
			if !name.Set {
				continue
			}
			if cfg.Processes == nil {
				cfg.Processes = make(map[string]Value[string])
			}
			if _, seen := cfg.Processes[name.V]; !seen {
				cfg.ProcessKeys = append(cfg.ProcessKeys, name.V)
			}
			if !cmd.Set {
				cmd = Value[string]{Loc: name.Loc, Set: true}
			}
			cfg.Processes[name.V] = cmd
		}
		if ignored > 0 {
			root.typeFinding("processes", false, "`processes` at the top level is a list of names, not a [processes] table of name = \"command\"", "Declare process groups in a [processes] section, e.g. `[processes]` then `app = \"gunicorn app:app\"`.")
		}
	default:
		root.wrongType("processes", v, "a table", "Declare process groups in a [processes] section, e.g. `[processes]` then `app = \"gunicorn app:app\"`.", true, false)
	}
}

func (c *conv) httpService(t *table) *HTTPService {
	h := &HTTPService{
		InternalPort:       t.integer("internal_port", false),
		ForceHTTPS:         t.boolean("force_https"),
		AutoStopMachines:   t.autostop("auto_stop_machines"),
		AutoStartMachines:  t.boolean("auto_start_machines"),
		MinMachinesRunning: t.integer("min_machines_running", false),
		Processes:          t.strs("processes", false),
		Loc:                t.loc,
	}
	if cc := t.sub("concurrency"); cc != nil {
		h.Concurrency = c.concurrency(cc)
	}
	if o := t.sub("tls_options"); o != nil {
		h.TLSOptions = c.tlsOptions(o)
	}
	t.opaque("http_options", httpOptionsShape)
	t.opaque("machine_checks", machineCheckShape)
	for i, ct := range t.list("checks", false) {
		ch := c.check(ct, "http", bareNanos, true)
		ch.Scope = ScopeHTTPService
		ch.ServiceIndex = -1
		ch.ServicePort = h.InternalPort
		ch.Where = fmt.Sprintf("[[http_service.checks]] #%d", i+1)
		h.Checks = append(h.Checks, ch)
	}
	t.done()
	return h
}

func (c *conv) service(t *table, index int) Service {
	s := Service{
		Protocol:           t.str("protocol"),
		InternalPort:       t.integer("internal_port", true),
		AutoStopMachines:   t.autostop("auto_stop_machines"),
		AutoStartMachines:  t.boolean("auto_start_machines"),
		MinMachinesRunning: t.integer("min_machines_running", false),
		Processes:          t.strs("processes", false),
		Index:              index,
		Loc:                t.loc,
	}
	for _, p := range t.list("ports", true) {
		port := Port{
			Port:       p.integer("port", true),
			StartPort:  p.integer("start_port", false),
			EndPort:    p.integer("end_port", false),
			Handlers:   p.strs("handlers", false),
			ForceHTTPS: p.boolean("force_https"),
			Loc:        p.loc,
		}
		if o := p.sub("tls_options"); o != nil {
			port.TLSOptions = c.tlsOptions(o)
		}
		p.opaque("http_options", httpOptionsShape)
		p.opaque("proxy_proto_options", proxyProtoShape)
		p.done()
		s.Ports = append(s.Ports, port)
	}
	s.Concurrency = c.serviceConcurrency(t)
	for _, ct := range t.list("http_checks", true) {
		ch := c.check(ct, "http", bareMillis, false)
		s.HTTPChecks = append(s.HTTPChecks, ch)
	}
	for _, ct := range t.list("tcp_checks", true) {
		ch := c.check(ct, "tcp", bareMillis, false)
		s.TCPChecks = append(s.TCPChecks, ch)
	}
	t.opaque("machine_checks", machineCheckShape)
	t.known("script_checks") // generated by old flyctl versions, ignored
	t.done()
	return s
}

// nameServiceChecks fills in what a service's checks know of the service.
func (c *conv) nameServiceChecks(s *Service, multi bool) {
	of := ""
	if multi {
		of = fmt.Sprintf(" of [[services]] #%d", s.Index+1)
	}
	for i := range s.HTTPChecks {
		ch := &s.HTTPChecks[i]
		ch.Scope, ch.ServiceIndex, ch.ServicePort = ScopeServices, s.Index, s.InternalPort
		ch.Where = fmt.Sprintf("[[services.http_checks]] #%d%s", i+1, of)
	}
	for i := range s.TCPChecks {
		ch := &s.TCPChecks[i]
		ch.Scope, ch.ServiceIndex, ch.ServicePort = ScopeServices, s.Index, s.InternalPort
		ch.Where = fmt.Sprintf("[[services.tcp_checks]] #%d%s", i+1, of)
	}
}

// serviceConcurrency reads the concurrency of a [[services]]: a table, or
// the old "soft,hard" string. flyctl refuses anything else, including an
// array of tables ([[services.concurrency]]); the first entry is kept.
func (c *conv) serviceConcurrency(t *table) *Concurrency {
	v, ok := t.get("concurrency")
	if !ok {
		return nil
	}
	fix := fmt.Sprintf("Write one `[%s]` table with type, soft_limit and hard_limit.", stripIndexes(t.keyPath("concurrency")))
	switch x := v.(type) {
	case map[string]any:
		return c.concurrency(c.table(t.keyPath("concurrency"), x))
	case string:
		soft, hard, found := strings.Cut(x, ",")
		sn, err1 := strconv.Atoi(soft)
		hn, err2 := strconv.Atoi(hard)
		if !found || err1 != nil || err2 != nil {
			t.typeFinding("concurrency", true, fmt.Sprintf("`concurrency` in %s must be a table (or the old \"soft,hard\" string), but flyctl cannot read %s", t.name(), strconv.Quote(x)), fix)
			return nil
		}
		loc := t.keyLoc("concurrency")
		return &Concurrency{
			Type:      Value[string]{V: "requests", Loc: loc, Set: true},
			SoftLimit: Value[int]{V: sn, Loc: loc, Set: true},
			HardLimit: Value[int]{V: hn, Loc: loc, Set: true},
			Loc:       loc,
		}
	case []any:
		path := stripIndexes(t.keyPath("concurrency"))
		t.typeFinding("concurrency", true, fmt.Sprintf("`[[%s]]` declares an array of tables, but flyctl expects one `[%s]` table and stops with \"Unknown type for service concurrency\"", path, path),
			fmt.Sprintf("Change the header `[[%s]]` to `[%s]` (single brackets).", path, path))
		if len(x) > 0 {
			if m, isMap := x[0].(map[string]any); isMap {
				cc := c.table(indexPath(t.keyPath("concurrency"), 0), m)
				return c.concurrency(cc)
			}
		}
		return nil
	}
	t.typeFinding("concurrency", true, fmt.Sprintf("`concurrency` in %s must be a table, but it is %s; flyctl stops with \"Unknown type for service concurrency\"", t.name(), describe(v)), fix)
	return nil
}

func (c *conv) concurrency(t *table) *Concurrency {
	cc := &Concurrency{
		Type:      t.str("type"),
		HardLimit: t.integer("hard_limit", false),
		SoftLimit: t.integer("soft_limit", false),
		Loc:       t.loc,
	}
	t.done()
	return cc
}

func (c *conv) tlsOptions(t *table) *TLSOptions {
	o := &TLSOptions{
		ALPN:              t.strs("alpn", false),
		Versions:          t.strs("versions", false),
		DefaultSelfSigned: t.boolean("default_self_signed"),
		Loc:               t.loc,
	}
	t.done()
	return o
}

// check reads a health check of the given type. unit is what a bare number
// means for its durations; strictHeaders says whether header values must
// be strings (flyctl converts them only outside [http_service]).
func (c *conv) check(t *table, typ string, unit durUnit, strictHeaders bool) Check {
	ch := Check{
		Type:        Value[string]{V: typ, Loc: t.loc, Set: true},
		Interval:    t.duration("interval", unit),
		Timeout:     t.duration("timeout", unit),
		GracePeriod: t.duration("grace_period", unit),
		Loc:         t.loc,
	}
	if typ == "http" {
		ch.Path = t.str("path")
		ch.Method = t.str("method")
		ch.Protocol = t.str("protocol")
		ch.TLSSkipVerify = t.boolean("tls_skip_verify")
		ch.TLSServerName = t.str("tls_server_name")
		ch.Headers = c.headers(t, strictHeaders)
	}
	t.known("restart_limit") // generated by old flyctl versions, ignored
	t.done()
	return ch
}

// headers reads the headers of an HTTP check: a table of name = value, or
// the old list of {name, value} tables.
func (c *conv) headers(t *table, strict bool) map[string]string {
	v, ok := t.get("headers")
	if !ok {
		return nil
	}
	out := map[string]string{}
	switch x := v.(type) {
	case map[string]any:
		h := c.table(t.keyPath("headers"), x)
		for _, k := range c.orderedKeys(h.path, x) {
			raw, _ := h.get(k)
			if s, isStr := raw.(string); isStr {
				out[k] = s
				continue
			}
			if strict {
				h.wrongType(k, raw, "a string", fmt.Sprintf("Put the header value in double quotes, e.g. `%s = \"...\"`.", k), true, false)
				continue
			}
			out[k] = h.scalarString(k).V
		}
	case []any:
		if strict && len(x) > 0 {
			t.wrongType("headers", v, "a table of header names and values", "Write the headers as a table, e.g. `headers = { X-Forwarded-Proto = \"https\" }`.", true, false)
			return nil
		}
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				continue
			}
			h := c.table(indexPath(t.keyPath("headers"), i), m)
			name := h.scalarString("name")
			value := h.scalarString("value")
			h.done()
			if name.Set {
				out[name.V] = value.V
			}
		}
	default:
		t.wrongType("headers", v, "a table of header names and values", "Write the headers as a table, e.g. `headers = { X-Forwarded-Proto = \"https\" }`.", true, false)
		return nil
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// topChecks reads the top-level [checks.NAME] sections (or the old list of
// checks with a name key).
func (c *conv) topChecks(root *table, cfg *Config) {
	v, ok := root.get("checks")
	if !ok {
		return
	}
	type named struct {
		name string
		t    *table
	}
	var all []named
	switch x := v.(type) {
	case map[string]any:
		checks := c.table("checks", x)
		for _, k := range c.orderedKeys("checks", x) {
			raw, _ := checks.get(k)
			m, isMap := raw.(map[string]any)
			if !isMap {
				checks.wrongType(k, raw, "a table", fmt.Sprintf("Write the check as a section: `[checks.%s]` followed by its keys.", k), true, false)
				continue
			}
			all = append(all, named{k, c.table(checks.keyPath(k), m)})
		}
	case []any:
		for i, e := range x {
			m, isMap := e.(map[string]any)
			if !isMap {
				root.wrongType("checks", v, "a table of named checks", "Write each check as a `[checks.NAME]` section.", true, false)
				return
			}
			t := c.table(indexPath("checks", i), m)
			name := t.str("name")
			all = append(all, named{name.V, t})
		}
	default:
		root.wrongType("checks", v, "a table of named checks", "Write each check as a `[checks.NAME]` section.", true, false)
		return
	}
	for _, n := range all {
		t := n.t
		typ := t.str("type")
		ch := c.check(c.tableLike(t), "http", bareMillis, false)
		ch.Type = typ
		ch.Name = n.name
		ch.Port = t.integer("port", false)
		ch.Processes = t.strs("processes", false)
		ch.Scope = ScopeTopLevel
		ch.ServiceIndex = -1
		ch.Where = "[checks." + n.name + "]"
		t.done()
		cfg.Checks = append(cfg.Checks, ch)
	}
}

// tableLike returns a view of t sharing its keys and asked set, so that a
// helper can read part of a table and leave the rest (and done) to the
// caller.
func (c *conv) tableLike(t *table) *table {
	return &table{c: t.c, path: t.path, m: t.m, asked: t.asked, loc: t.loc, noDone: true}
}

func (c *conv) vm(t *table) *VM {
	v := &VM{
		Size:      t.str("size"),
		CPUs:      t.integer("cpus", false),
		CPUKind:   t.str("cpu_kind"),
		GPUKind:   t.str("gpu_kind"),
		GPUs:      t.integer("gpus", false),
		Processes: t.strs("processes", false),
		Loc:       t.loc,
	}
	t.str("host_dedication_id")
	t.str("persist_rootfs")
	t.strs("kernel_args", false)
	mem := t.scalarString("memory")
	if mem.Set {
		mb, err := parseMemoryMB(mem.V)
		switch {
		case err != nil:
			t.typeFinding("memory", true, fmt.Sprintf("`memory` in %s must be a size such as \"512mb\" or \"1gb\", but flyctl cannot read %s (%v)", t.name(), strconv.Quote(mem.V), err),
				"Write the memory with a unit flyctl reads, e.g. `memory = \"512mb\"` or `memory = \"2gb\"` (not \"Mi\"/\"Gi\"), or `memory_mb = 512`.")
		case mb <= 0:
			t.typeFinding("memory", true, fmt.Sprintf("`memory` in %s is %s, which flyctl reads as 0 MB (\"memory cannot be zero\")", t.name(), strconv.Quote(mem.V)),
				"Write the memory with a unit, e.g. `memory = \"512mb\"` or `memory = \"1gb\"`.")
		default:
			v.Memory = Value[int]{V: mb, Loc: mem.Loc, Set: true}
		}
	}
	if mmb := t.integer("memory_mb", false); mmb.Set && mmb.V > 0 {
		v.Memory = mmb // memory_mb wins over memory, as in flyctl
	}
	t.done()
	return v
}

func (c *conv) mount(t *table) Mount {
	m := Mount{
		Source:      t.str("source"),
		Destination: t.str("destination"),
		InitialSize: t.scalarString("initial_size"),
		Processes:   t.strs("processes", false),
		Loc:         t.loc,
	}
	t.integer("snapshot_retention", false)
	t.boolean("scheduled_snapshots")
	t.integer("auto_extend_size_threshold", false)
	t.str("auto_extend_size_increment")
	t.str("auto_extend_size_limit")
	t.done()
	return m
}
