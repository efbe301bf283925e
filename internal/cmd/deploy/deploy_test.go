package deploy

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/flyenv"
	"github.com/grupo-gad/deploy-action/internal/fly"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/project/flytoml"
	"github.com/grupo-gad/deploy-action/internal/remote"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

const (
	app      = "grupo-gad"
	oldImage = "registry.fly.io/grupo-gad:v1"
	newImage = "registry.fly.io/grupo-gad:v2"
)

func TestNewOptions(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
		check func(*Options) bool
	}{
		{[]string{"--image", "img"}, false, func(o *Options) bool {
			return o.Dir == "." && o.Format == "text" && o.Strategy == "" && o.WaitTimeout == 0 && o.HealthURL == "" && !o.Force
		}},
		{[]string{"repo", "--app", "a", "--image", "img", "--strategy", "immediate", "--wait-timeout", "90s", "--release-command-timeout", "2m",
			"--skip-release-command", "--health-url", "https://a.example/healthz", "--force", "--format", "json", "--initial-machines", "2"}, false, func(o *Options) bool {
			return o.Dir == "repo" && o.App == "a" && o.Strategy == "immediate" && o.WaitTimeout == 90*time.Second && o.ReleaseCommandTimeout == 2*time.Minute &&
				o.SkipReleaseCommand && o.HealthURL == "https://a.example/healthz" && o.Force && o.Format == "json" && o.InitialMachines == 2
		}},
		{[]string{"--image", "img", "--health-url", "none"}, false, func(o *Options) bool { return o.HealthURL == "none" }},
		{[]string{"--app", "a"}, true, nil},
		{[]string{"--image", "img", "--strategy", "canary"}, true, nil},
		{[]string{"--image", "img", "--wait-timeout", "-1s"}, true, nil},
		{[]string{"--image", "img", "--release-command-timeout", "-1s"}, true, nil},
		{[]string{"--image", "img", "--initial-machines", "-1"}, true, nil},
		{[]string{"--image", "img", "--health-url", "ftp://x/health"}, true, nil},
		{[]string{"--image", "img", "--format", "xml"}, true, nil},
		{[]string{"--image", "img", "a", "b"}, true, nil},
		{[]string{"--image", "img", "--nope"}, true, nil},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, err := NewOptions(cmdutil.IO{}, tt.args)
			if tt.usage {
				if !cmdutil.IsUsage(err) {
					t.Fatalf("err = %v, want a usage error", err)
				}
				return
			}
			if err != nil || !tt.check(o) {
				t.Fatalf("NewOptions = %+v, %v", o, err)
			}
		})
	}
	if _, err := NewOptions(cmdutil.IO{}, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
}

func TestHealthURL(t *testing.T) {
	parse := func(src string) *flytoml.Config {
		c, _ := flytoml.Parse("fly.toml", []byte(src))
		return c
	}
	withCheck := parse("app = \"a\"\n[http_service]\n  internal_port = 8080\n  [[http_service.checks]]\n    path = \"/healthz\"\n")
	plain := parse("app = \"a\"\n[http_service]\n  internal_port = 8080\n")
	services := parse("app = \"a\"\n[[services]]\n  internal_port = 8080\n  [[services.ports]]\n    port = 443\n    handlers = [\"tls\", \"http\"]\n")
	worker := parse("app = \"a\"\n")
	tests := []struct {
		flag string
		cfg  *flytoml.Config
		want string
	}{
		{"", withCheck, "https://a.fly.dev/healthz"},
		{"", plain, "https://a.fly.dev/health"},
		{"", services, "https://a.fly.dev/health"},
		{"", worker, ""},
		{"", nil, ""},
		{"none", plain, ""},
		{"http://x/h", worker, "http://x/h"},
	}
	for _, tt := range tests {
		if got := healthURL(tt.flag, "a", tt.cfg); got != tt.want {
			t.Errorf("healthURL(%q) = %q, want %q", tt.flag, got, tt.want)
		}
	}
}

// fixture is a fake Fly app for examples/grupo-gad with three machines on
// oldImage and, unless told otherwise, every secret it needs.
type fixture struct {
	fake *flyfake.Fake
	dir  string
	cfg  *flytoml.Config
	ids  []string
	// health answers the verification; status 200 unless set.
	mu     sync.Mutex
	status int
	srv    *httptest.Server
}

func newFixture(t *testing.T, secrets ...string) *fixture {
	t.Helper()
	fx := &fixture{fake: flyfake.New(app), dir: filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad"), status: http.StatusOK}
	p, err := project.Load(fx.dir, project.Options{})
	if err != nil || p.Fly == nil {
		t.Fatalf("load example: %v", err)
	}
	fx.cfg = p.Fly
	for range 3 {
		mc, err := machineconf.ForMachine(fx.cfg, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "app"}}, oldImage)
		if err != nil {
			t.Fatal(err)
		}
		fx.ids = append(fx.ids, fx.fake.AddMachine("mad", mc))
	}
	if secrets == nil {
		secrets = []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"}
	}
	for _, s := range secrets {
		fx.fake.SetSecret(s, "value-of-"+s)
	}
	fx.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fx.mu.Lock()
		defer fx.mu.Unlock()
		w.WriteHeader(fx.status)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}))
	t.Cleanup(fx.srv.Close)
	return fx
}

func (fx *fixture) options(out *bytes.Buffer, args ...string) *Options {
	o := &Options{IO: cmdutil.IO{Out: out, Err: out}, Dir: fx.dir, App: app, Image: newImage, Format: "json",
		HealthURL: fx.srv.URL + "/health", WaitTimeout: 2 * time.Second,
		Fly:    func(context.Context) (fly.API, error) { return fx.fake, nil },
		Health: health.Options{Samples: 2, Interval: -1},
		Engine: func(d *flydeploy.Deployer) {
			d.SmokeWindow = 20 * time.Millisecond
			d.PollInterval = 5 * time.Millisecond
			d.WaitSlice = time.Second
			d.LeaseTimeout = 300 * time.Millisecond
			d.LogWait = 20 * time.Millisecond
			d.InterruptGrace = 2 * time.Second
		},
	}
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "force":
			o.Force = args[i+1] == "true"
		case "health-url":
			o.HealthURL = args[i+1]
		case "image":
			o.Image = args[i+1]
		}
	}
	return o
}

func (fx *fixture) images(t *testing.T) []string {
	t.Helper()
	var out []string
	imgs := fx.fake.Images()
	for _, id := range fx.ids {
		out = append(out, imgs[id])
	}
	return out
}

func allOf(n int, s string) []string { return slices.Repeat([]string{s}, n) }

func readReport(t *testing.T, out *bytes.Buffer) *report.Report {
	t.Helper()
	// Progress lines come first (IO.Err is the same buffer); the JSON
	// report starts at the first "{" at the start of a line.
	s := out.String()
	i := strings.Index(s, "\n{")
	if i < 0 {
		t.Fatalf("no JSON report in:\n%s", s)
	}
	rep, err := report.ReadJSON(strings.NewReader(s[i+1:]))
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func phaseStatus(rep *report.Report) map[report.PhaseName]report.Status {
	m := map[report.PhaseName]report.Status{}
	for _, p := range rep.Phases {
		m[p.Name] = p.Status
	}
	return m
}

func has(rep *report.Report, rule string) bool {
	for _, f := range rep.Findings() {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		secrets []string
		setup   func(fx *fixture)
		opts    []string
		code    int
		images  string
		status  map[report.PhaseName]report.Status
		rules   []string
	}{
		{name: "healthy", code: cmdutil.ExitOK, images: newImage,
			status: map[report.PhaseName]report.Status{report.Deploy: report.Passed, report.Verify: report.Passed},
			rules:  []string{flydeploy.RuleReleaseOK, flydeploy.RuleSummary, health.RuleFigures}},
		{name: "verification skipped", opts: []string{"health-url", "none"}, code: cmdutil.ExitOK, images: newImage,
			status: map[report.PhaseName]report.Status{report.Verify: report.Skipped}, rules: []string{"verify-skipped"}},
		{name: "verification fails: rolled back", setup: func(fx *fixture) { fx.status = http.StatusServiceUnavailable }, code: cmdutil.ExitFindings, images: oldImage,
			status: map[report.PhaseName]report.Status{report.Deploy: report.Passed, report.Verify: report.Failed},
			rules:  []string{health.RuleStatus, "verify-rolled-back"}},
		{name: "crash on start: restored", setup: func(fx *fixture) {
			// The app machines crash; the release machine (same image) runs.
			for _, id := range fx.ids {
				fx.fake.SetBehaviorFor(id, newImage, flyfake.Behavior{Crash: true, ExitCode: 3, Logs: []string{"ModuleNotFoundError: No module named 'app'"}})
			}
		}, code: cmdutil.ExitFindings, images: oldImage,
			status: map[report.PhaseName]report.Status{report.Deploy: report.Failed, report.Verify: report.Skipped},
			rules:  []string{flydeploy.RuleMachineCrashed, flydeploy.RuleRolledBack}},
		{name: "release fails: nothing changed", setup: func(fx *fixture) {
			fx.fake.SetBehavior(newImage, flyfake.Behavior{ExitCode: 1, Logs: []string{"KeyError: 'DATABASE_URL'"}})
		}, code: cmdutil.ExitFindings, images: oldImage,
			status: map[report.PhaseName]report.Status{report.Release: report.Failed, report.Deploy: report.Skipped, report.Verify: report.Skipped},
			rules:  []string{flydeploy.RuleReleaseFailed}},
		{name: "validation error stops the deploy", secrets: []string{"SECRET_KEY", "JWT_SECRET_KEY"}, code: cmdutil.ExitFindings, images: oldImage,
			status: map[report.PhaseName]report.Status{report.Release: report.Failed, report.Deploy: report.Skipped, report.Verify: report.Skipped},
			rules:  []string{remote.RuleReleaseSecret, "deploy-skipped"}},
		{name: "--force deploys anyway", secrets: []string{"SECRET_KEY", "JWT_SECRET_KEY"}, opts: []string{"force", "true"}, code: cmdutil.ExitOK, images: newImage,
			status: map[report.PhaseName]report.Status{report.Release: report.Failed, report.Deploy: report.Warned, report.Verify: report.Passed},
			rules:  []string{remote.RuleReleaseSecret, "deploy-forced"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t, tt.secrets...)
			if tt.setup != nil {
				tt.setup(fx)
			}
			var out bytes.Buffer
			code, err := Run(context.Background(), fx.options(&out, tt.opts...))
			if err != nil || code != tt.code {
				t.Fatalf("Run = %d, %v; want %d\n%s", code, err, tt.code, out.String())
			}
			if got := fx.images(t); !slices.Equal(got, allOf(3, tt.images)) {
				t.Errorf("machines run %v, want %s", got, tt.images)
			}
			if held := fx.fake.HeldLeases(); len(held) > 0 {
				t.Errorf("leases left: %v", held)
			}
			rep := readReport(t, &out)
			var names []report.PhaseName
			for _, p := range rep.Phases {
				names = append(names, p.Name)
			}
			if want := append(slices.Clone(report.StaticPhases), report.Deploy, report.Verify); !slices.Equal(names, want) || rep.Command != "deploy" {
				t.Errorf("report %s phases %v", rep.Command, names)
			}
			st := phaseStatus(rep)
			for ph, want := range tt.status {
				if st[ph] != want {
					t.Errorf("phase %s is %s, want %s", ph, st[ph], want)
				}
			}
			for _, r := range tt.rules {
				if !has(rep, r) {
					t.Errorf("no %s finding", r)
				}
			}
			if strings.Contains(out.String(), "value-of-") {
				t.Error("a secret value reached the output")
			}
		})
	}
}

func TestRunValidationErrorTouchesNothing(t *testing.T) {
	fx := newFixture(t, "SECRET_KEY")
	var out bytes.Buffer
	if code, err := Run(context.Background(), fx.options(&out)); code != cmdutil.ExitFindings || err != nil {
		t.Fatalf("Run = %d, %v", code, err)
	}
	for _, op := range []string{"Update", "Launch", "AcquireLease"} {
		if n := fx.fake.CallCount(op); n != 0 {
			t.Errorf("%d %s calls", n, op)
		}
	}
	if !strings.Contains(out.String(), "deploy: not started: validation found") {
		t.Errorf("progress does not say why:\n%s", out.String())
	}
}

func TestRunInterrupted(t *testing.T) {
	fx := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates := 0
	var mu sync.Mutex
	fx.fake.OnCall = func(op, id string) {
		mu.Lock()
		defer mu.Unlock()
		if op == "Update" {
			if updates++; updates == 2 {
				cancel()
			}
		}
	}
	var out bytes.Buffer
	code, err := Run(ctx, fx.options(&out))
	if err != nil || code != cmdutil.ExitFindings {
		t.Fatalf("Run = %d, %v", code, err)
	}
	if got := fx.images(t); !slices.Equal(got, allOf(3, oldImage)) {
		t.Errorf("machines run %v after an interrupted deploy", got)
	}
	if held := fx.fake.HeldLeases(); len(held) > 0 {
		t.Errorf("leases left: %v", held)
	}
	if rep := readReport(t, &out); !has(rep, flydeploy.RuleInterrupted) && !has(rep, flydeploy.RuleRolledBack) {
		t.Errorf("report does not say it was interrupted: %+v", rep.Findings())
	}
}

func TestRunNeedsToken(t *testing.T) {
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	fx := newFixture(t)
	o := fx.options(&bytes.Buffer{})
	o.Fly = nil
	code, err := Run(context.Background(), o)
	if code != cmdutil.ExitUsage || !errors.Is(err, fly.ErrNoToken) {
		t.Errorf("Run without a token = %d, %v", code, err)
	}
	o.Dir = filepath.Join(fx.dir, "no-such-dir")
	if code, err := Run(context.Background(), o); code != cmdutil.ExitUsage || !cmdutil.IsUsage(err) {
		t.Errorf("Run on a missing dir = %d, %v", code, err)
	}
}

func TestProgressLines(t *testing.T) {
	fx := newFixture(t)
	var out, progress bytes.Buffer
	o := fx.options(&out)
	o.IO.Err = &progress
	o.Progress = flyenv.NewProgress(&progress)
	if code, err := Run(context.Background(), o); code != 0 || err != nil {
		t.Fatalf("Run = %d, %v\n%s", code, err, progress.String())
	}
	for _, want := range []string{
		"validate: passed",
		"secrets: 3 of 3 required secret(s) set on grupo-gad",
		"release: running `alembic upgrade head` on a one-off machine",
		"deploy: machine 1/3 ",
		"deploy: machine 3/3 ",
		"verify: healthy: 2/2 samples passed",
	} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	if strings.Contains(out.String(), "release:") {
		t.Error("progress went to stdout")
	}
}
