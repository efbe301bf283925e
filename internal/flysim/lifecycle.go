package flysim

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	fly "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

// Fly's defaults for stopping a machine and restarting a crashed one.
const (
	defaultKillSignal   = "SIGINT"
	defaultKillTimeout  = 5 * time.Second
	defaultMaxRetries   = 10
	restartDelayStep    = 500 * time.Millisecond
	restartDelayMax     = 3 * time.Second
	outputDrainTimeout  = 2 * time.Second
	maxOutputLineLength = 64 << 10
)

// process is one run of a machine's command.
type process struct {
	m       *machine
	cmd     *exec.Cmd
	pid     int
	argv    []string
	started time.Time
	version string

	requestedStop bool // guarded by Server.mu
	oom           atomic.Bool
	readers       sync.WaitGroup
	cancelChecks  context.CancelFunc
	done          chan struct{} // closed once the exit is recorded
}

func (p *process) signal(sig syscall.Signal) {
	if p.pid > 0 {
		// The process leads its own group: signal every process of it.
		_ = syscall.Kill(-p.pid, sig)
	}
}

func (p *process) kill() { p.signal(syscall.SIGKILL) }

// goLocked is goTracked for callers holding s.mu.
func (s *Server) goLocked(f func()) bool {
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

// current reports whether no operation was requested on m since gen.
func (s *Server) current(m *machine, gen int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return m.gen == gen && !s.closed
}

// command returns the argv a machine runs: init.exec, else the entrypoint
// (init.entrypoint or the image's) followed by init.cmd or the image's Argv.
// The first of config.processes overrides the same way.
func command(img Image, c *fly.MachineConfig) []string {
	exec, entry, cmd := c.Init.Exec, img.Entrypoint, img.Argv
	if len(c.Init.Entrypoint) > 0 {
		entry, cmd = c.Init.Entrypoint, nil
	}
	if len(c.Init.Cmd) > 0 {
		cmd = c.Init.Cmd
	}
	if len(c.Processes) > 0 {
		p := c.Processes[0]
		if len(p.ExecOverride) > 0 {
			exec = p.ExecOverride
		}
		if len(p.EntrypointOverride) > 0 {
			entry, cmd = p.EntrypointOverride, nil
		}
		if len(p.CmdOverride) > 0 {
			cmd = p.CmdOverride
		}
	}
	if len(exec) > 0 {
		return slices.Clone(exec)
	}
	return append(slices.Clone(entry), cmd...)
}

// internalPorts lists the ports a config expects the app to serve.
func internalPorts(c *fly.MachineConfig) []int {
	seen := map[int]bool{}
	var out []int
	add := func(p int) {
		if p > 0 && !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, svc := range c.Services {
		add(svc.InternalPort)
		for _, ch := range svc.Checks {
			if ch.Port != nil {
				add(*ch.Port)
			}
		}
	}
	names := slices.Sorted(maps.Keys(c.Checks))
	for _, n := range names {
		if p := c.Checks[n].Port; p != nil {
			add(*p)
		}
	}
	if c.Metrics != nil {
		add(c.Metrics.Port)
	}
	return out
}

// allocPort returns a free loopback port nobody in this server uses. s.mu
// must be held.
func (s *Server) allocPort() (int, error) {
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("allocate a port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		if !s.usedPorts[port] {
			s.usedPorts[port] = true
			return port, nil
		}
	}
	return 0, errors.New("allocate a port: no free port found")
}

// mapPort returns the host port standing for internal port p of m,
// allocating one the first time. s.mu must be held.
func (s *Server) mapPort(m *machine, p int) (int, error) {
	if hp, ok := m.ports[p]; ok {
		return hp, nil
	}
	hp, err := s.allocPort()
	if err != nil {
		return 0, err
	}
	m.ports[p] = hp
	return hp, nil
}

// releasePorts forgets m's port mapping. s.mu must be held.
func (s *Server) releasePorts(m *machine) {
	for _, hp := range m.ports {
		delete(s.usedPorts, hp)
	}
	m.ports = map[int]int{}
}

// loopbackAliasesWork reports whether addresses of 127.0.0.0/8 other than
// 127.0.0.1 can be bound (true on Linux). Without them every machine uses
// 127.0.0.1 and an app bound to 127.0.0.1 passes its checks.
func loopbackAliasesWork() bool {
	ln, err := net.Listen("tcp", "127.77.0.1:0")
	if err != nil {
		return false
	}
	_ = ln.Close()
	return true
}

// allocIP returns the next machine address. s.mu must be held.
func (s *Server) allocIP() string {
	if !s.aliasOK {
		return "127.0.0.1"
	}
	s.nextIP++
	n := s.nextIP
	return fmt.Sprintf("127.77.%d.%d", (n/250)%250, n%250+1)
}

// environment builds a machine process's environment. s.mu must be held.
func (s *Server) environment(m *machine) ([]string, error) {
	c := m.config
	env := map[string]string{
		"PATH": os.Getenv("PATH"),
		"LANG": "C.UTF-8",
	}
	if m.tempDir != "" {
		env["HOME"] = m.tempDir
		env["TMPDIR"] = m.tempDir
	}
	maps.Copy(env, m.image.Env)
	maps.Copy(env, c.Env)
	if len(c.Processes) > 0 {
		maps.Copy(env, c.Processes[0].ExtraEnv)
	}
	if !m.skipSecrets {
		for name, sec := range m.app.secrets {
			env[name] = sec.value
		}
	}
	// PORT: the host port standing for the port the app is told to use.
	port := 0
	if v, err := strconv.Atoi(env["PORT"]); err == nil && v > 0 {
		port = v
	} else if len(c.Services) > 0 && c.Services[0].InternalPort > 0 {
		port = c.Services[0].InternalPort
	} else if ps := internalPorts(c); len(ps) > 0 {
		port = ps[0]
	} else {
		port = 8080
	}
	for _, p := range append(internalPorts(c), port) {
		hp, err := s.mapPort(m, p)
		if err != nil {
			return nil, err
		}
		env[fmt.Sprintf("FLYSIM_PORT_%d", p)] = strconv.Itoa(hp)
	}
	env["PORT"] = strconv.Itoa(m.ports[port])
	env["FLY_APP_NAME"] = m.app.name
	env["FLY_MACHINE_ID"] = m.id
	env["FLY_ALLOC_ID"] = m.id
	env["FLY_REGION"] = m.region
	env["FLY_PUBLIC_IP"] = m.ip
	env["FLY_PRIVATE_IP"] = m.ip
	env["FLY_IMAGE_REF"] = m.imageRef
	env["FLY_MACHINE_VERSION"] = m.version
	env["FLY_PROCESS_GROUP"] = c.ProcessGroup()
	if c.Guest != nil && c.Guest.MemoryMB > 0 {
		env["FLY_VM_MEMORY_MB"] = strconv.Itoa(c.Guest.MemoryMB)
	}
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

// startProcess boots machine m: "starting", the emulated boot time, then its
// command, "started" and its checks. The caller holds m.opMu.
func (s *Server) startProcess(m *machine) {
	s.mu.Lock()
	if s.closed || m.state == stateDestroyed || m.state == stateDestroying || m.proc != nil {
		s.mu.Unlock()
		return
	}
	m.state = stateStarting
	s.notifyLocked()
	s.mu.Unlock()

	if !s.sleep(s.scale(s.opts.StartDelay)) {
		return
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	if m.tempDir == "" && m.image.Dir == "" {
		if dir, err := os.MkdirTemp("", "flysim-"+m.id+"-"); err == nil {
			m.tempDir = dir
		}
	}
	argv := command(m.image, m.config)
	env, envErr := s.environment(m)
	dir := m.image.Dir
	if dir == "" {
		dir = m.tempDir
	}
	p := &process{m: m, argv: argv, version: m.version, done: make(chan struct{})}
	s.runnerLog(m, "info", "Starting init (commit: flysim)...")
	s.mu.Unlock()

	err := envErr
	if err == nil && len(argv) == 0 {
		err = errors.New("no command specified")
	}
	var outR, outW *os.File
	if err == nil {
		outR, outW, err = os.Pipe()
	}
	if err == nil {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Env = env
		cmd.Dir = dir
		cmd.Stdout = outW
		cmd.Stderr = outW
		cmd.SysProcAttr = sysProcAttr()
		s.mu.Lock()
		s.runnerLog(m, "info", fmt.Sprintf("Preparing to run: `%s` as root", strings.Join(argv, " ")))
		s.mu.Unlock()
		err = cmd.Start()
		_ = outW.Close()
		if err != nil {
			_ = outR.Close()
		} else {
			p.cmd = cmd
			p.pid = cmd.Process.Pid
		}
	}
	if err != nil {
		s.mu.Lock()
		s.runnerLog(m, "error", fmt.Sprintf("Error: failed to spawn command: %s: %v", strings.Join(argv, " "), err))
		s.mu.Unlock()
		s.onExit(m, p, exitInfo{code: 1, at: s.now()})
		return
	}

	ctx, cancel := context.WithCancel(s.ctx)
	p.cancelChecks = cancel
	p.readers.Add(1)
	s.mu.Lock()
	p.started = s.now()
	m.proc = p
	m.state = stateStarted
	m.addEvent(s, "start", stateStarted, "flyd", nil)
	defs := checkDefs(m.config)
	m.checks = initialChecks(defs, s.now())
	s.notifyLocked()
	closed := !s.goLocked(func() { s.readOutput(m, p, outR) })
	if !closed {
		s.goLocked(func() { s.watch(m, p) })
		for _, d := range defs {
			s.goLocked(func() { s.runCheck(ctx, m, p, d) })
		}
	}
	s.mu.Unlock()
	if closed {
		p.readers.Done()
		_ = outR.Close()
		p.kill()
		_ = p.cmd.Wait()
	}
	s.logger.Info("machine started", "app", m.app.name, "machine", m.id, "pid", p.pid)
}

// readOutput turns a process's output into log lines and spots the OOM
// marker.
func (s *Server) readOutput(m *machine, p *process, r *os.File) {
	defer p.readers.Done()
	defer func() { _ = r.Close() }()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxOutputLineLength)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == simapp.OOMMarker {
			p.oom.Store(true)
			continue
		}
		s.mu.Lock()
		s.appLog(m, "info", "app", line)
		s.mu.Unlock()
	}
}

// watch waits for a process to exit and records the exit.
func (s *Server) watch(m *machine, p *process) {
	_ = p.cmd.Wait()
	// Like a VM whose main process ended: nothing else of it survives.
	p.kill()
	drained := make(chan struct{})
	go func() { p.readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(outputDrainTimeout):
	}
	info := exitInfo{at: s.now()}
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		info.signal = int(ws.Signal())
		info.code = 128 + info.signal
	} else {
		info.code = p.cmd.ProcessState.ExitCode()
	}
	s.onExit(m, p, info)
}

// onExit records the end of a process: the exit event, the runner's log
// lines, and then the restart policy or auto_destroy when nobody asked for
// the stop.
func (s *Server) onExit(m *machine, p *process, info exitInfo) {
	if p.cancelChecks != nil {
		p.cancelChecks()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	defer close(p.done)
	defer s.notifyLocked()
	info.requested = p.requestedStop
	info.oom = p.oom.Load()
	if m.proc == p {
		m.proc = nil
	}
	for _, c := range m.checks {
		c.status, c.output, c.updated = "critical", "the machine is not running", s.now()
	}
	if info.oom {
		name := filepath.Base(firstOr(p.argv, "app"))
		s.runnerLog(m, "info", fmt.Sprintf("Out of memory: Killed process %d (%s) total-vm:1048576kB, anon-rss:%dkB, file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:1024kB oom_score_adj:0", p.pid, name, memoryKB(m.config)))
	}
	if info.signal != 0 {
		s.runnerLog(m, "info", fmt.Sprintf("Main child exited with signal (with signal '%s', core dumped? false)", signalName(info.signal)))
	} else if p.cmd != nil {
		s.runnerLog(m, "info", fmt.Sprintf("Main child exited normally with code: %d", info.code))
	}
	if info.oom {
		s.runnerLog(m, "info", "Process appears to have been OOM killed!")
	}
	s.runnerLog(m, "info", "Starting clean up.")

	if info.requested {
		m.addEvent(s, "exit", stateStopped, "flyd", &info)
		return
	}
	policy := fly.MachineRestartPolicyOnFailure
	maxRetries := defaultMaxRetries
	if r := m.config.Restart; r != nil {
		if r.Policy != "" {
			policy = r.Policy
		}
		if r.MaxRetries > 0 {
			maxRetries = r.MaxRetries
		}
	}
	restart := false
	switch policy {
	case fly.MachineRestartPolicyAlways:
		restart = true
	case fly.MachineRestartPolicyNo:
	default:
		restart = info.code != 0 && m.restartCount < maxRetries
	}
	if restart {
		m.restartCount++
	}
	info.restarting = restart
	m.addEvent(s, "exit", stateStopped, "flyd", &info)
	m.state = stateStopped
	gen := m.gen
	switch {
	case restart:
		delay := min(restartDelayStep*time.Duration(m.restartCount), restartDelayMax)
		s.goLocked(func() {
			if !s.sleep(s.scale(delay)) {
				return
			}
			m.opMu.Lock()
			defer m.opMu.Unlock()
			s.mu.Lock()
			ok := m.gen == gen && m.state == stateStopped
			s.mu.Unlock()
			if ok {
				s.startProcess(m)
			}
		})
	case policy == fly.MachineRestartPolicyNo:
		s.runnerLog(m, "info", "machine restart policy set to 'no', not restarting")
	default:
		if info.code != 0 {
			s.runnerLog(m, "info", fmt.Sprintf("machine has reached its max restart count of %d", maxRetries))
		}
	}
	if !restart && m.config.AutoDestroy {
		s.goLocked(func() {
			m.opMu.Lock()
			defer m.opMu.Unlock()
			s.mu.Lock()
			ok := m.gen == gen && m.state == stateStopped
			s.mu.Unlock()
			if ok {
				s.destroy(m, "flyd")
			}
		})
	}
}

// stopProcess stops m's process: the kill signal, then SIGKILL after the
// kill timeout. The caller holds m.opMu.
func (s *Server) stopProcess(m *machine, sigName string, timeout time.Duration) {
	s.mu.Lock()
	p := m.proc
	if p == nil {
		s.mu.Unlock()
		return
	}
	p.requestedStop = true
	if sigName == "" && m.config.StopConfig != nil && m.config.StopConfig.Signal != nil {
		sigName = *m.config.StopConfig.Signal
	}
	if sigName == "" {
		sigName = defaultKillSignal
	}
	if timeout <= 0 && m.config.StopConfig != nil && m.config.StopConfig.Timeout != nil {
		timeout = m.config.StopConfig.Timeout.Duration
	}
	if timeout <= 0 {
		timeout = defaultKillTimeout
	}
	sig := parseSignal(sigName)
	s.runnerLog(m, "info", fmt.Sprintf("Sending signal %s to main child process w/ PID %d", signalName(int(sig)), p.pid))
	s.mu.Unlock()

	p.signal(sig)
	t := time.NewTimer(s.scale(timeout))
	defer t.Stop()
	select {
	case <-p.done:
		return
	case <-t.C:
	}
	s.mu.Lock()
	s.runnerLog(m, "info", fmt.Sprintf("Sending signal SIGKILL to main child process w/ PID %d after kill_timeout %s", p.pid, timeout))
	s.mu.Unlock()
	p.kill()
	<-p.done
}

// destroy stops m (if needed) and marks it destroyed. The caller holds m.opMu.
func (s *Server) destroy(m *machine, source string) {
	s.mu.Lock()
	if m.state == stateDestroyed {
		s.mu.Unlock()
		return
	}
	m.state = stateDestroying
	s.notifyLocked()
	s.mu.Unlock()
	s.stopProcess(m, "SIGKILL", time.Second)
	s.mu.Lock()
	m.state = stateDestroyed
	m.addEvent(s, "destroy", stateDestroyed, source, nil)
	m.lease = nil
	m.checks = nil
	s.releasePorts(m)
	dir := m.tempDir
	m.tempDir = ""
	s.notifyLocked()
	s.mu.Unlock()
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	s.logger.Info("machine destroyed", "app", m.app.name, "machine", m.id)
}

// runOp runs a lifecycle operation on m in the background, after the
// operations requested before it, unless a newer one supersedes it. s.mu
// must be held; it bumps m.gen.
func (s *Server) runOp(m *machine, op func(gen int)) {
	m.gen++
	m.restartCount = 0
	gen := m.gen
	s.goLocked(func() {
		m.opMu.Lock()
		defer m.opMu.Unlock()
		if !s.current(m, gen) {
			return
		}
		op(gen)
	})
}

func firstOr(xs []string, def string) string {
	if len(xs) > 0 {
		return xs[0]
	}
	return def
}

func memoryKB(c *fly.MachineConfig) int {
	if c.Guest != nil && c.Guest.MemoryMB > 0 {
		return c.Guest.MemoryMB * 1024 * 9 / 10
	}
	return 230400
}

var signals = map[string]syscall.Signal{
	"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT, "SIGQUIT": syscall.SIGQUIT,
	"SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1, "SIGUSR2": syscall.SIGUSR2,
	"SIGTERM": syscall.SIGTERM, "SIGABRT": syscall.SIGABRT, "SIGALRM": syscall.SIGALRM,
	"SIGPIPE": syscall.SIGPIPE, "SIGSEGV": syscall.SIGSEGV, "SIGTRAP": syscall.SIGTRAP,
	"SIGFPE": syscall.SIGFPE, "SIGILL": syscall.SIGILL,
}

// parseSignal reads "SIGTERM", "TERM" or "15"; unknown names mean SIGINT.
func parseSignal(name string) syscall.Signal {
	name = strings.ToUpper(strings.TrimSpace(name))
	if n, err := strconv.Atoi(name); err == nil && n > 0 && n < 65 {
		return syscall.Signal(n)
	}
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig, ok := signals[name]; ok {
		return sig
	}
	return syscall.SIGINT
}

func signalName(n int) string {
	names := make([]string, 0, len(signals))
	for k, v := range signals {
		if int(v) == n {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	if len(names) > 0 {
		return names[0]
	}
	return fmt.Sprintf("signal %d", n)
}
