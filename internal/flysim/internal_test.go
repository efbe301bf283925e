package flysim

import (
	"slices"
	"strings"
	"syscall"
	"testing"

	fly "github.com/superfly/fly-go"
)

func TestImageRef(t *testing.T) {
	tests := []struct {
		ref                        string
		registry, repo, tag, digst string
	}{
		{"registry.fly.io/grupo-gad:deployment-01H", "registry.fly.io", "grupo-gad", "deployment-01H", ""},
		{"registry.fly.io/grupo-gad@sha256:abc", "registry.fly.io", "grupo-gad", "", "sha256:abc"},
		{"registry.fly.io/org/app:v1@sha256:abc", "registry.fly.io", "org/app", "v1", "sha256:abc"},
		{"localhost:5000/app", "localhost:5000", "app", "latest", ""},
		{"python:3.12-slim", "docker-hub-mirror.fly.io", "library/python", "3.12-slim", ""},
		{"flyio/postgres-flex:16", "docker-hub-mirror.fly.io", "flyio/postgres-flex", "16", ""},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got := imageRef(tt.ref, nil)
			if got.Registry != tt.registry || got.Repository != tt.repo || got.Tag != tt.tag {
				t.Errorf("imageRef = %+v", got)
			}
			if tt.digst != "" && got.Digest != tt.digst {
				t.Errorf("digest %q, want %q", got.Digest, tt.digst)
			}
			if !strings.HasPrefix(got.Digest, "sha256:") {
				t.Errorf("digest %q", got.Digest)
			}
		})
	}
}

func FuzzImageRef(f *testing.F) {
	for _, s := range []string{"registry.fly.io/app:tag", "a@b", "x:y:z", "", ":", "/", "host:1/p@sha256:0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ref string) {
		got := imageRef(ref, nil)
		if got.Registry == "" || got.Digest == "" {
			t.Errorf("imageRef(%q) = %+v", ref, got)
		}
	})
}

func TestParseProcAddr(t *testing.T) {
	tests := []struct {
		in   string
		addr string
		port int
		ok   bool
	}{
		{"0100007F:1F90", "127.0.0.1", 8080, true},
		{"00000000:0050", "0.0.0.0", 80, true},
		{"00000000000000000000000000000000:1F90", "::", 8080, true},
		{"0000000000000000FFFF00000100007F:1F90", "127.0.0.1", 8080, true},
		{"zz:1F90", "", 0, false},
		{"0100007F", "", 0, false},
	}
	for _, tt := range tests {
		addr, port, ok := parseProcAddr(tt.in)
		if addr != tt.addr || port != tt.port || ok != tt.ok {
			t.Errorf("parseProcAddr(%q) = %q %d %v", tt.in, addr, port, ok)
		}
	}
}

func FuzzParseProcAddr(f *testing.F) {
	for _, s := range []string{"0100007F:1F90", "00000000000000000000000000000000:0050", ":", "x:y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if _, port, ok := parseProcAddr(s); ok && (port < 0 || port > 65535) {
			t.Errorf("port %d", port)
		}
	})
}

func TestParseSignal(t *testing.T) {
	tests := map[string]syscall.Signal{
		"SIGTERM": syscall.SIGTERM, "term": syscall.SIGTERM, "9": syscall.SIGKILL,
		"SIGINT": syscall.SIGINT, "": syscall.SIGINT, "SIGWHAT": syscall.SIGINT, "SIGUSR1": syscall.SIGUSR1,
	}
	for in, want := range tests {
		if got := parseSignal(in); got != want {
			t.Errorf("parseSignal(%q) = %v, want %v", in, got, want)
		}
	}
	if signalName(int(syscall.SIGKILL)) != "SIGKILL" {
		t.Errorf("signalName(9) = %q", signalName(9))
	}
}

func TestCommand(t *testing.T) {
	img := Image{Entrypoint: []string{"/bin/app"}, Argv: []string{"serve"}}
	tests := []struct {
		name string
		init fly.MachineInit
		proc []fly.MachineProcess
		want []string
	}{
		{"image default", fly.MachineInit{}, nil, []string{"/bin/app", "serve"}},
		{"init.cmd (release command)", fly.MachineInit{Cmd: []string{"alembic", "upgrade", "head"}}, nil, []string{"/bin/app", "alembic", "upgrade", "head"}},
		{"init.entrypoint drops the image cmd", fly.MachineInit{Entrypoint: []string{"/bin/sh"}}, nil, []string{"/bin/sh"}},
		{"init.exec replaces all", fly.MachineInit{Exec: []string{"/bin/true"}, Cmd: []string{"x"}}, nil, []string{"/bin/true"}},
		{"process cmd", fly.MachineInit{}, []fly.MachineProcess{{CmdOverride: []string{"worker"}}}, []string{"/bin/app", "worker"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := command(img, &fly.MachineConfig{Init: tt.init, Processes: tt.proc})
			if !slices.Equal(got, tt.want) {
				t.Errorf("command = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCheckDefs(t *testing.T) {
	port, path, typ := 8080, "/health", "http"
	c := &fly.MachineConfig{
		Checks: map[string]fly.MachineCheck{"alive": {Port: &port, Type: &typ, HTTPPath: &path}},
		Services: []fly.MachineService{{InternalPort: 8080, Checks: []fly.MachineServiceCheck{
			{Type: &typ, HTTPPath: &path}, {},
		}}},
	}
	defs := checkDefs(c)
	var names []string
	for _, d := range defs {
		names = append(names, d.name+"/"+d.typ)
	}
	want := []string{"alive/http", "servicecheck-00-http-8080/http", "servicecheck-01-tcp-8080/tcp"}
	if !slices.Equal(names, want) {
		t.Errorf("checks %v, want %v", names, want)
	}
	if defs[1].interval != defaultCheckInterval || defs[1].timeout != defaultCheckTimeout {
		t.Errorf("defaults %+v", defs[1])
	}
	if got := internalPorts(c); !slices.Equal(got, []int{8080}) {
		t.Errorf("internalPorts = %v", got)
	}
}

func TestConfigJSONIsLikeFly(t *testing.T) {
	auto := fly.MachineAutostopStop
	c := &fly.MachineConfig{Image: "x", Services: []fly.MachineService{{InternalPort: 80, Autostop: &auto}}}
	v := configJSON(c).(map[string]any)
	svc := v["services"].([]any)[0].(map[string]any)
	if _, ok := svc["force_instance_key"]; ok {
		t.Errorf("null force_instance_key kept: %v", svc)
	}
	if svc["autostop"] != "stop" {
		t.Errorf("autostop %v, want \"stop\"", svc["autostop"])
	}
}
