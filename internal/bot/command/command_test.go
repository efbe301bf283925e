package command

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

func TestParse(t *testing.T) {
	tests := []struct {
		body string
		want Command
	}{
		{"/deploy", Command{Name: Deploy}},
		{"/deploy staging", Command{Name: Deploy, Environment: "staging"}},
		{"  /Deploy   production  \r\nsecond line /rollback", Command{Name: Deploy, Environment: "production"}},
		{"/DEPLOY prod-eu.1", Command{Name: Deploy, Environment: "prod-eu.1"}},
		{"/rollback", Command{Name: Rollback}},
		{"/rollback v42", Command{Name: Rollback, Target: "v42"}},
		{"/rollback 42 staging", Command{Name: Rollback, Target: "42", Environment: "staging"}},
		{"/rollback staging registry.fly.io/grupo-gad:deployment-01J", Command{Name: Rollback, Target: "registry.fly.io/grupo-gad:deployment-01J", Environment: "staging"}},
		{"/rollback registry.fly.io/app@sha256:" + strings.Repeat("a", 64), Command{Name: Rollback, Target: "registry.fly.io/app@sha256:" + strings.Repeat("a", 64)}},
		{"/rollback production", Command{Name: Rollback, Environment: "production"}},
		{"/secrets check", Command{Name: Secrets}},
		{"/secrets CHECK staging", Command{Name: Secrets, Environment: "staging"}},
		{"/status", Command{Name: Status}},
		{"/health", Command{Name: Health}},
		{"/health staging", Command{Name: Health, Environment: "staging"}},
		{"/help", Command{Name: Help}},
		{"/help /deploy", Command{Name: Help, Target: "deploy"}},
		{"/help Rollback", Command{Name: Help, Target: "rollback"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.body)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.body, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.body, got, tt.want)
		}
	}
}

func TestParseNotCommand(t *testing.T) {
	for _, body := range []string{
		"",
		"LGTM",
		"please /deploy",
		"\n/deploy",
		"/",
		"/ deploy",
		"/path/to/file is broken",
		"/123",
		"//deploy",
		"/déployer",
	} {
		if _, err := Parse(body); !errors.Is(err, ErrNotCommand) {
			t.Errorf("Parse(%q) = %v, want ErrNotCommand", body, err)
		}
	}
}

func TestParseUsage(t *testing.T) {
	tests := []struct {
		body   string
		name   Name
		reason string
	}{
		{"/deploi", "", "not a command"},
		{"/lgtm", "", "not a command"},
		{"/deploy a b", Deploy, "at most one argument"},
		{"/deploy prod!", Deploy, "not an environment name"},
		{"/deploy ../etc", Deploy, "not an environment name"},
		{"/health a b", Health, "at most one argument"},
		{"/rollback v1 v2", Rollback, "second release or image"},
		{"/rollback staging prod", Rollback, "second environment"},
		{"/rollback a b c", Rollback, "at most"},
		{"/rollback Bad:Image:Ref", Rollback, "neither"},
		{"/rollback $(id)", Rollback, "neither"},
		{"/secrets", Secrets, "one subcommand"},
		{"/secrets list", Secrets, "one subcommand"},
		{"/secrets check a b", Secrets, "at most one argument"},
		{"/secrets check a*b", Secrets, "not an environment name"},
		{"/status now", Status, "takes no argument"},
		{"/help me please", Help, "at most one argument"},
		{"/help me", Help, "not a command"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.body)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("Parse(%q) = %v, want a *UsageError", tt.body, err)
			continue
		}
		if ue.Name != tt.name || !strings.Contains(ue.Reason, tt.reason) {
			t.Errorf("Parse(%q) = {Name %q, Reason %q}, want Name %q and a reason with %q", tt.body, ue.Name, ue.Reason, tt.name, tt.reason)
		}
		if ue.Usage() == "" {
			t.Errorf("Parse(%q): empty usage", tt.body)
		}
		if tt.name == "" && ue.Usage() != Grammar() {
			t.Errorf("Parse(%q): an unknown command's usage should be the whole grammar", tt.body)
		}
	}
}

func TestGrammarNamesEveryCommand(t *testing.T) {
	g := Grammar()
	for _, n := range Names {
		if !strings.Contains(g, "`/"+string(n)) {
			t.Errorf("Grammar() does not show /%s", n)
		}
	}
}

// TestCorpusComments parses every comment body of the webhook corpus: none
// of them is a command.
func TestCorpusComments(t *testing.T) {
	for _, body := range corpusBodies(t) {
		if _, err := Parse(body); !errors.Is(err, ErrNotCommand) {
			t.Errorf("Parse(%q) = %v, want ErrNotCommand", body, err)
		}
	}
}

func corpusBodies(t testing.TB) []string {
	dir := testutil.CorpusDir(t, "webhooks")
	files, _ := filepath.Glob(filepath.Join(dir, "issue_comment.*.json"))
	var bodies []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Comment struct{ Body string } `json:"comment"`
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		bodies = append(bodies, p.Comment.Body)
	}
	if len(bodies) == 0 {
		t.Fatalf("no issue_comment payloads in %s", dir)
	}
	return bodies
}

// FuzzParse checks that Parse never panics, that what it accepts is a known
// command whose canonical form parses back to the same command, and that
// every refusal carries a usage.
func FuzzParse(f *testing.F) {
	for _, body := range corpusBodies(f) {
		f.Add(body)
	}
	for _, s := range []string{"/deploy", "/deploy staging", "/rollback v3 prod", "/rollback registry.fly.io/a:b",
		"/secrets check", "/status", "/health x", "/help deploy", "/nope", "/deploy \x00", " /HELP\r\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		c, err := Parse(body)
		var ue *UsageError
		switch {
		case err == nil:
			if !c.Name.Known() {
				t.Fatalf("Parse(%q) accepted unknown command %q", body, c.Name)
			}
			back, err := Parse(c.String())
			if err != nil || back != c {
				t.Fatalf("Parse(%q) = %+v; its form %q parses to %+v, %v", body, c, c.String(), back, err)
			}
			if c.Environment != "" && !ValidEnvironment(c.Environment) {
				t.Fatalf("Parse(%q) accepted environment %q", body, c.Environment)
			}
		case errors.As(err, &ue):
			if ue.Usage() == "" || ue.Reason == "" {
				t.Fatalf("Parse(%q): usage error without usage or reason", body)
			}
		case errors.Is(err, ErrNotCommand):
		default:
			t.Fatalf("Parse(%q): unexpected error %v", body, err)
		}
	})
}
