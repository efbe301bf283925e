package action

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

const sha1 = "0123456789abcdef0123456789abcdef01234567"

func TestCheckedOut(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"detached", map[string]string{".git/HEAD": sha1 + "\n"}, sha1},
		{"loose ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/refs/heads/main": sha1 + "\n"}, sha1},
		{"packed ref", map[string]string{".git/HEAD": "ref: refs/heads/main\n", ".git/packed-refs": "# pack-refs with: peeled\n" + sha1 + " refs/heads/main\n"}, sha1},
		{"worktree", map[string]string{".git": "gitdir: .realgit\n", ".realgit/HEAD": sha1}, sha1},
		{"unborn branch", map[string]string{".git/HEAD": "ref: refs/heads/main\n"}, ""},
		{"no git", map[string]string{"x": ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, d := range tt.files {
				write(t, filepath.Join(dir, p), d)
			}
			got, ok := CheckedOut(dir)
			if !ok {
				got = ""
			}
			if got != tt.want {
				t.Errorf("CheckedOut = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestResolveWorkspace(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "sub", ".git", "HEAD"), sha1)
	write(t, filepath.Join(root, "sub", "svc", "app", "fly.toml"), "")
	write(t, filepath.Join(root, "plain", "fly.toml"), "")
	tests := []struct {
		wd, wantRepo, wantPrefix string
	}{
		{"", "", ""},
		{"plain", "", "plain"},
		{"sub/svc/app", "sub", "svc/app"}, // actions/checkout with path: sub
		{"sub", "sub", ""},
		{filepath.Join(root, "plain"), "", "plain"},
	}
	for _, tt := range tests {
		ws, err := ResolveWorkspace(root, tt.wd)
		if err != nil {
			t.Errorf("%q: %v", tt.wd, err)
			continue
		}
		if ws.Repo != filepath.Join(root, tt.wantRepo) || ws.Prefix != tt.wantPrefix {
			t.Errorf("%q: repo %s prefix %q, want %s %q", tt.wd, ws.Repo, ws.Prefix, tt.wantRepo, tt.wantPrefix)
		}
	}
	for _, bad := range []string{"../elsewhere", "/etc", "missing"} {
		if _, err := ResolveWorkspace(root, bad); err == nil || !strings.Contains(err.Error(), "input working-directory") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestMaskerScrubLongestFirst(t *testing.T) {
	m := NewMasker(Inputs{GitHubToken: "abcd"}, []string{"API_TOKEN=abcdefgh", "PATH=/usr/bin", "DB_PASSWORD=", "SECRET_KEY=  padded-value  "})
	if m.Len() != 3 {
		t.Errorf("%d values, want 3", m.Len())
	}
	if got := m.Scrub("x abcdefgh y abcd z padded-value"); got != "x *** y *** z ***" {
		t.Errorf("Scrub = %q", got)
	}
}

func TestInputsValidate(t *testing.T) {
	ok := Inputs{Command: "validate", FailOn: "error", CheckName: "deploy-check"}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mut := range []func(*Inputs){
		func(in *Inputs) { in.Command = "build" },
		func(in *Inputs) { in.FailOn = "always" },
		func(in *Inputs) { in.SHA = "HEAD" },
		func(in *Inputs) { in.SHA = strings.Repeat("g", 40) },
		func(in *Inputs) { in.CheckName = "a\nb" },
	} {
		in := ok
		mut(&in)
		if err := in.Validate(); err == nil {
			t.Errorf("%+v accepted", in)
		}
	}
}
