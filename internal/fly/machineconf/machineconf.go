// Package machineconf turns the fly.toml model into the machine config a
// deploy applies, the way `fly deploy` builds it: [env], services and their
// checks, top-level checks, the process group's command, [[vm]], [[restart]],
// [[metrics]], [[statics]], kill_signal and kill_timeout, all for the
// machine's process group. What fly.toml does not describe (mounts and their
// volumes, files, schedule, standbys, DNS, the metadata of other tools) is
// kept from the machine's current config.
package machineconf

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/shellcmd"
)

// Clone returns a deep copy of c (nil for nil).
func Clone(c *flygo.MachineConfig) *flygo.MachineConfig {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(fmt.Sprintf("machineconf: marshal machine config: %v", err)) // every field is plain data
	}
	out := new(flygo.MachineConfig)
	if err := json.Unmarshal(b, out); err != nil {
		panic(fmt.Sprintf("machineconf: unmarshal machine config: %v", err))
	}
	return out
}

// Group returns the process group a machine config belongs to, falling back
// to the fly.toml's default group (or "app") when the machine has none.
func Group(cfg *flytoml.Config, current *flygo.MachineConfig) string {
	if g := current.ProcessGroup(); g != "" {
		return g
	}
	if cfg != nil {
		return cfg.DefaultProcess()
	}
	return flygo.MachineProcessGroupApp
}

// ForMachine returns the config to apply to a machine whose config is now
// current: a copy of current with image set and, when cfg is not nil, what
// fly.toml says for the machine's process group. It fails when fly.toml
// describes something that cannot be turned into a machine config (a
// process command that needs a shell, an unknown VM size) or does not
// declare the machine's process group.
func ForMachine(cfg *flytoml.Config, current *flygo.MachineConfig, image string) (*flygo.MachineConfig, error) {
	out := Clone(current)
	if out == nil {
		out = &flygo.MachineConfig{}
	}
	out.Image = image
	if cfg == nil {
		return out, nil
	}
	group := Group(cfg, current)
	if !slices.Contains(cfg.ProcessNames(), group) {
		return nil, fmt.Errorf("the machine belongs to process group %q, which fly.toml does not declare (it declares %s): add the group to [processes], or destroy the machine with `fly machine destroy`", group, strings.Join(cfg.ProcessNames(), ", "))
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	out.Metadata[flygo.MachineConfigMetadataKeyFlyProcessGroup] = group
	if out.Metadata[flygo.MachineConfigMetadataKeyFlyPlatformVersion] == "" {
		out.Metadata[flygo.MachineConfigMetadataKeyFlyPlatformVersion] = flygo.MachineFlyPlatformVersion2
	}
	out.Env = Env(cfg, group)

	var err error
	if out.Init, err = initFor(cfg, group, out.Init); err != nil {
		return nil, err
	}
	if vm := cfg.VMFor(group); vm != nil {
		if out.Guest, err = Guest(vm); err != nil {
			return nil, err
		}
	}
	out.Services = nil
	for _, s := range cfg.AllServices() {
		if applies(cfg, s.Processes, group) {
			out.Services = append(out.Services, service(s))
		}
	}
	out.Checks = nil
	for _, c := range cfg.Checks {
		if !applies(cfg, c.Processes, group) {
			continue
		}
		if out.Checks == nil {
			out.Checks = map[string]flygo.MachineCheck{}
		}
		out.Checks[c.Name] = topCheck(c)
	}
	for _, r := range cfg.Restarts {
		if applies(cfg, r.Processes, group) && r.Policy.Set {
			out.Restart = &flygo.MachineRestart{Policy: flygo.MachineRestartPolicy(restartPolicy(r.Policy.V)), MaxRetries: r.Retries.V}
		}
	}
	out.Metrics = nil
	for _, m := range cfg.Metrics {
		if applies(cfg, m.Processes, group) {
			out.Metrics = &flygo.MachineMetrics{Port: m.Port.V, Path: m.Path.V, Https: m.HTTPS.V}
		}
	}
	out.Statics = nil
	for _, s := range cfg.Statics {
		out.Statics = append(out.Statics, &flygo.Static{GuestPath: s.GuestPath.V, UrlPrefix: s.URLPrefix.V, TigrisBucket: s.TigrisBucket.V, IndexDocument: s.IndexDocument.V})
	}
	if cfg.KillSignal.Set || cfg.KillTimeout.Set {
		sc := &flygo.StopConfig{}
		if out.StopConfig != nil {
			*sc = *out.StopConfig
		}
		if cfg.KillSignal.Set {
			sig := strings.ToUpper(cfg.KillSignal.V)
			sc.Signal = &sig
		}
		if cfg.KillTimeout.Set {
			sc.Timeout = &flygo.Duration{Duration: cfg.KillTimeout.V}
		}
		out.StopConfig = sc
	}
	return out, nil
}

// Env returns the environment fly.toml gives a machine of the process
// group: [env], PRIMARY_REGION from primary_region, and FLY_PROCESS_GROUP.
func Env(cfg *flytoml.Config, group string) map[string]string {
	env := map[string]string{}
	if cfg == nil {
		return env
	}
	for k, v := range cfg.Env {
		env[k] = v.V
	}
	if cfg.PrimaryRegion.Set && cfg.PrimaryRegion.V != "" {
		env["PRIMARY_REGION"] = cfg.PrimaryRegion.V
	}
	if group != "" {
		env["FLY_PROCESS_GROUP"] = group
	}
	return env
}

func initFor(cfg *flytoml.Config, group string, cur flygo.MachineInit) (flygo.MachineInit, error) {
	out := flygo.MachineInit{Tty: cur.Tty, KernelArgs: cur.KernelArgs, SwapSizeMB: cur.SwapSizeMB}
	if cfg.SwapSizeMB.Set {
		n := cfg.SwapSizeMB.V
		out.SwapSizeMB = &n
	}
	if e := cfg.Experimental; e != nil {
		out.Cmd, out.Entrypoint, out.Exec = e.Cmd, e.Entrypoint, e.Exec
	}
	if p, ok := cfg.Processes[group]; ok && strings.TrimSpace(p.V) != "" {
		argv, err := shellcmd.Split(p.V)
		if err != nil {
			return out, fmt.Errorf("%s: command of process %q: %w", p.Loc, group, err)
		}
		out.Cmd = argv
	}
	return out, nil
}

// Guest returns the VM a [[vm]] section describes: its size preset
// (shared-cpu-1x when none is named), then cpu_kind, cpus, memory, GPUs.
func Guest(vm *flytoml.VM) (*flygo.MachineGuest, error) {
	if vm == nil {
		return nil, nil
	}
	size := vm.Size.Or("")
	if size == "" {
		size = flygo.DefaultVMSize
		if vm.GPUKind.Set {
			size = flygo.DefaultGPUVMSize
		}
	}
	g := &flygo.MachineGuest{}
	if err := g.SetSize(size); err != nil {
		return nil, fmt.Errorf("%s: %w", vm.Size.Loc, err)
	}
	if vm.CPUKind.Set {
		g.CPUKind = vm.CPUKind.V
	}
	if vm.CPUs.Set {
		g.CPUs = vm.CPUs.V
	}
	if vm.Memory.Set {
		g.MemoryMB = vm.Memory.V
	}
	if vm.GPUKind.Set {
		g.GPUKind = vm.GPUKind.V
	}
	if vm.GPUs.Set {
		g.GPUs = vm.GPUs.V
	}
	return g, nil
}

// applies reports whether a section listing processes applies to group: a
// section without a list applies to the default group.
func applies(cfg *flytoml.Config, processes []string, group string) bool {
	if len(processes) == 0 {
		return group == cfg.DefaultProcess()
	}
	return slices.Contains(processes, group)
}

func restartPolicy(p string) string {
	switch strings.ToLower(strings.TrimSpace(p)) {
	case "never", "no":
		return string(flygo.MachineRestartPolicyNo)
	case "on-failure", "on_failure", "onfailure":
		return string(flygo.MachineRestartPolicyOnFailure)
	case "always":
		return string(flygo.MachineRestartPolicyAlways)
	}
	return p
}

func service(s flytoml.Service) flygo.MachineService {
	ms := flygo.MachineService{Protocol: s.Protocol.Or("tcp"), InternalPort: s.InternalPort.V}
	if s.AutoStopMachines.Set {
		a := flygo.MachineAutostopOff
		switch s.AutoStopMachines.V {
		case "stop":
			a = flygo.MachineAutostopStop
		case "suspend":
			a = flygo.MachineAutostopSuspend
		}
		ms.Autostop = &a
	}
	if s.AutoStartMachines.Set {
		ms.Autostart = flygo.Pointer(s.AutoStartMachines.V)
	}
	if s.MinMachinesRunning.Set {
		ms.MinMachinesRunning = flygo.Pointer(s.MinMachinesRunning.V)
	}
	for _, p := range s.Ports {
		mp := flygo.MachinePort{Handlers: p.Handlers, ForceHTTPS: p.ForceHTTPS.V}
		if p.Port.Set {
			mp.Port = flygo.Pointer(p.Port.V)
		}
		if p.StartPort.Set {
			mp.StartPort = flygo.Pointer(p.StartPort.V)
		}
		if p.EndPort.Set {
			mp.EndPort = flygo.Pointer(p.EndPort.V)
		}
		if t := p.TLSOptions; t != nil {
			mp.TLSOptions = &flygo.TLSOptions{ALPN: t.ALPN, Versions: t.Versions}
			if t.DefaultSelfSigned.Set {
				mp.TLSOptions.DefaultSelfSigned = flygo.Pointer(t.DefaultSelfSigned.V)
			}
		}
		ms.Ports = append(ms.Ports, mp)
	}
	for _, c := range s.HTTPChecks {
		ms.Checks = append(ms.Checks, serviceCheck(c, "http", s.InternalPort.V))
	}
	for _, c := range s.TCPChecks {
		ms.Checks = append(ms.Checks, serviceCheck(c, "tcp", s.InternalPort.V))
	}
	if c := s.Concurrency; c != nil {
		ms.Concurrency = &flygo.MachineServiceConcurrency{Type: c.Type.V, HardLimit: c.HardLimit.V, SoftLimit: c.SoftLimit.V}
	}
	return ms
}

func serviceCheck(c flytoml.Check, typ string, port int) flygo.MachineServiceCheck {
	mc := flygo.MachineServiceCheck{Type: flygo.Pointer(c.Type.Or(typ))}
	mc.Port = flygo.Pointer(c.Port.Or(port))
	mc.Interval = dur(c.Interval)
	mc.Timeout = dur(c.Timeout)
	mc.GracePeriod = dur(c.GracePeriod)
	mc.HTTPMethod = str(c.Method)
	mc.HTTPPath = str(c.Path)
	mc.HTTPProtocol = str(c.Protocol)
	mc.HTTPTLSServerName = str(c.TLSServerName)
	if c.TLSSkipVerify.Set {
		mc.HTTPSkipTLSVerify = flygo.Pointer(c.TLSSkipVerify.V)
	}
	mc.HTTPHeaders = headers(c.Headers)
	return mc
}

func topCheck(c flytoml.Check) flygo.MachineCheck {
	mc := flygo.MachineCheck{Type: str(c.Type)}
	if c.Port.Set {
		mc.Port = flygo.Pointer(c.Port.V)
	}
	mc.Interval = dur(c.Interval)
	mc.Timeout = dur(c.Timeout)
	mc.GracePeriod = dur(c.GracePeriod)
	mc.HTTPMethod = str(c.Method)
	mc.HTTPPath = str(c.Path)
	mc.HTTPProtocol = str(c.Protocol)
	mc.HTTPTLSServerName = str(c.TLSServerName)
	if c.TLSSkipVerify.Set {
		mc.HTTPSkipTLSVerify = flygo.Pointer(c.TLSSkipVerify.V)
	}
	mc.HTTPHeaders = headers(c.Headers)
	return mc
}

func dur(v flytoml.Value[time.Duration]) *flygo.Duration {
	if !v.Set {
		return nil
	}
	return &flygo.Duration{Duration: v.V}
}

func str(v flytoml.Value[string]) *string {
	if !v.Set {
		return nil
	}
	return flygo.Pointer(v.V)
}

func headers(h map[string]string) []flygo.MachineHTTPHeader {
	if len(h) == 0 {
		return nil
	}
	var out []flygo.MachineHTTPHeader
	for _, k := range slices.Sorted(maps.Keys(h)) {
		out = append(out, flygo.MachineHTTPHeader{Name: k, Values: []string{h[k]}})
	}
	return out
}

// CheckCount returns how many health checks a machine with config c runs:
// its top-level checks and the checks of its services.
func CheckCount(c *flygo.MachineConfig) int {
	if c == nil {
		return 0
	}
	n := len(c.Checks)
	for _, s := range c.Services {
		n += len(s.Checks)
	}
	return n
}

// ShortestCheckInterval returns the shortest interval among the machine's
// checks, or def when none sets one.
func ShortestCheckInterval(c *flygo.MachineConfig, def time.Duration) time.Duration {
	best := time.Duration(0)
	consider := func(d *flygo.Duration) {
		if d != nil && d.Duration > 0 && (best == 0 || d.Duration < best) {
			best = d.Duration
		}
	}
	if c != nil {
		for _, ch := range c.Checks {
			consider(ch.Interval)
		}
		for _, s := range c.Services {
			for _, ch := range s.Checks {
				consider(ch.Interval)
			}
		}
	}
	if best == 0 {
		return def
	}
	return best
}
