package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/bot/command"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseFull(t *testing.T) {
	c, fs := Parse(read(t, "full.yml"))
	if len(fs) > 0 {
		t.Fatalf("findings: %+v", fs)
	}
	want := &Config{
		Workflow:           "fly-deploy.yml",
		DefaultEnvironment: "production",
		Environments: map[string]Environment{
			"production": {App: "grupo-gad", HealthURL: "https://grupo-gad.fly.dev/health", Approvals: 1},
			"staging":    {App: "grupo-gad-staging"},
		},
		Commands: []command.Name{command.Deploy, command.Rollback, command.Secrets, command.Status, command.Health},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Parse = %+v\nwant %+v", c, want)
	}
	if !c.Allows(command.Help) {
		t.Error("/help must always be allowed")
	}
	name, env, err := c.Resolve("")
	if name != "production" || env.App != "grupo-gad" || err != nil {
		t.Errorf("Resolve(\"\") = %q, %+v, %v", name, env, err)
	}
	if _, _, err := c.Resolve("qa"); !errors.Is(err, ErrUnknownEnvironment) || !strings.Contains(err.Error(), "production, staging") {
		t.Errorf("Resolve(qa) error = %v", err)
	}
	if u := c.Environments["staging"].URL(); u != "https://grupo-gad-staging.fly.dev/health" {
		t.Errorf("staging URL = %q", u)
	}
}

func TestParseDefaults(t *testing.T) {
	for _, in := range []string{"", "# nothing yet\n", "---\n", "~\n"} {
		c, fs := Parse([]byte(in))
		if len(fs) > 0 || !reflect.DeepEqual(c, Default()) {
			t.Errorf("Parse(%q) = %+v, %+v; want the defaults", in, c, fs)
		}
	}
	c := Default()
	name, env, err := c.Resolve("anything")
	if name != "anything" || env != (Environment{}) || err != nil {
		t.Errorf("without environments, Resolve passes the name on; got %q %+v %v", name, env, err)
	}
	if env.URL() != "" {
		t.Errorf("no app, no URL; got %q", env.URL())
	}
}

func TestParseFindings(t *testing.T) {
	tests := []struct {
		file string
		want []string // "line:col rule"
	}{
		{"bad.yml", []string{
			"1:11 bot-config-value", "3:14 bot-config-value", "4:11 bot-config-value",
			"7:10 bot-config-value", "8:17 bot-config-value", "9:16 bot-config-value",
			"10:5 bot-config-key", "11:3 bot-config-value", "13:1 bot-config-key",
			"14:1 bot-config-key", "2:22 bot-config-value",
		}},
		{"syntax.yml", []string{"5:1 bot-config-syntax"}},
	}
	for _, tt := range tests {
		_, fs := Parse(read(t, tt.file))
		var got []string
		for _, f := range fs {
			got = append(got, f.Location.String()[len(Path)+1:]+" "+f.Rule)
			if f.Severity != report.Error || f.File != Path || f.Message == "" || f.Fix == "" || f.Title == "" {
				t.Errorf("%s: incomplete finding %+v", tt.file, f)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s findings:\n got %q\nwant %q", tt.file, got, tt.want)
		}
	}
}

func TestParseShapes(t *testing.T) {
	tests := []struct{ in, msg string }{
		{"- a\n- b\n", "must be a mapping"},
		{"workflow: [a]\n", "must be a single value"},
		{"environments: [production]\n", "must map environment names"},
		{"environments:\n  production: grupo-gad\n", "must be a mapping"},
		{"environments:\n  production:\n    approvals: 1.5\n", "whole number"},
		{"environments:\n  production:\n    approvals: 11\n", "whole number"},
		{"commands: [deploy, shell]\n", `"shell" is not a command`},
		{"base: &b {app: x}\n", "not a key"},
		{"environments:\n  production: &p\n    app: a\n  staging:\n    <<: *p\n", "Merge keys"},
		{strings.Repeat("#", MaxSize+1), "at most"},
	}
	for _, tt := range tests {
		_, fs := Parse([]byte(tt.in))
		if len(fs) == 0 || !strings.Contains(fs[0].Message, tt.msg) {
			t.Errorf("Parse(%q) findings %+v, want one saying %q", tt.in, fs, tt.msg)
		}
	}
	// An alias to a valid mapping is followed.
	c, fs := Parse([]byte("environments:\n  production: &p\n    app: a\n  staging: *p\n"))
	if len(fs) > 0 || c.Environments["staging"].App != "a" {
		t.Errorf("alias: %+v %+v", c.Environments, fs)
	}
	// An empty environment is listed with no app.
	c, fs = Parse([]byte("environments:\n  production:\n"))
	if _, ok := c.Environments["production"]; !ok || len(fs) > 0 {
		t.Errorf("empty environment: %+v %+v", c.Environments, fs)
	}
}

// FuzzParse checks that Parse never panics and always returns a usable
// configuration whose findings have a position in the file.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"full.yml", "bad.yml", "syntax.yml"} {
		f.Add(read(f, name))
	}
	f.Add([]byte("environments:\n  p: &a\n    app: x\n  q: *a\n"))
	f.Add([]byte("a: &a [*a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, fs := Parse(data)
		if c == nil || c.Workflow == "" || c.DefaultEnvironment == "" || c.Environments == nil {
			t.Fatalf("Parse returned an unusable configuration %+v", c)
		}
		for _, f := range fs {
			if f.File != Path || f.Message == "" || f.Fix == "" {
				t.Fatalf("incomplete finding %+v", f)
			}
		}
	})
}
