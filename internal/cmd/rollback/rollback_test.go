package rollback

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/fly"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
	"github.com/grupo-gad/deploy-action/internal/fly/machineconf"
	"github.com/grupo-gad/deploy-action/internal/project"
	"github.com/grupo-gad/deploy-action/internal/report"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

const (
	app      = "grupo-gad"
	v1, v2   = "registry.fly.io/grupo-gad:v1", "registry.fly.io/grupo-gad:v2"
	previous = flydeploy.MetaPreviousImage
)

func TestNewOptions(t *testing.T) {
	o, err := NewOptions(cmdutil.IO{}, []string{"repo", "--app", "a", "--image", "img", "--format", "github"})
	if err != nil || o.Dir != "repo" || o.App != "a" || o.Image != "img" || o.Format != "github" {
		t.Fatalf("NewOptions = %+v, %v", o, err)
	}
	if o, err := NewOptions(cmdutil.IO{}, nil); err != nil || o.Dir != "." || o.Image != "" {
		t.Errorf("defaults: %+v, %v", o, err)
	}
	for _, args := range [][]string{{"a", "b"}, {"--format", "yaml"}, {"--strategy", "x"}} {
		if _, err := NewOptions(cmdutil.IO{}, args); !cmdutil.IsUsage(err) {
			t.Errorf("%v: err = %v, want a usage error", args, err)
		}
	}
}

// setup returns a fake app whose three machines run v2, deployed over v1
// (recorded in their metadata) unless recordPrevious is false.
func setup(t *testing.T, recordPrevious bool) (*flyfake.Fake, []string, string) {
	t.Helper()
	dir := filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad")
	p, err := project.Load(dir, project.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := flyfake.New(app)
	var ids []string
	for range 3 {
		mc, err := machineconf.ForMachine(p.Fly, &flygo.MachineConfig{Metadata: map[string]string{"fly_process_group": "app"}}, v2)
		if err != nil {
			t.Fatal(err)
		}
		if recordPrevious {
			mc.Metadata[previous] = v1
		}
		ids = append(ids, f.AddMachine("mad", mc))
	}
	return f, ids, dir
}

func run(t *testing.T, f *flyfake.Fake, dir, image string) (int, *report.Report) {
	t.Helper()
	var out, progress bytes.Buffer
	code, err := Run(context.Background(), &Options{
		IO: cmdutil.IO{Out: &out, Err: &progress}, Dir: dir, Image: image, Format: "json",
		Fly: func(context.Context) (fly.API, error) { return f, nil },
		Engine: func(d *flydeploy.Deployer) {
			d.SmokeWindow, d.PollInterval, d.LeaseTimeout, d.LogWait, d.WaitSlice = 20*time.Millisecond, 5*time.Millisecond, 300*time.Millisecond, 20*time.Millisecond, time.Second
		},
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	rep, err := report.ReadJSON(&out)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Command != "rollback" || len(rep.Phases) != 1 || rep.Phases[0].Name != report.Deploy {
		t.Errorf("report %s with phases %+v", rep.Command, rep.Phases)
	}
	if code == 0 && !strings.Contains(progress.String(), "deploy: machine 3/3 ") {
		t.Errorf("progress:\n%s", progress.String())
	}
	return code, rep
}

func images(f *flyfake.Fake, ids []string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, f.Images()[id])
	}
	return out
}

func TestRollback(t *testing.T) {
	tests := []struct {
		name     string
		recorded bool
		image    string
		code     int
		want     string
	}{
		{"to the recorded previous image", true, "", cmdutil.ExitOK, v1},
		{"to a given image", false, "registry.fly.io/grupo-gad:v0", cmdutil.ExitOK, "registry.fly.io/grupo-gad:v0"},
		{"nothing recorded", false, "", cmdutil.ExitFindings, v2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ids, dir := setup(t, tt.recorded)
			code, rep := run(t, f, dir, tt.image)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %+v", code, tt.code, rep.Findings())
			}
			if got := images(f, ids); !slices.Equal(got, slices.Repeat([]string{tt.want}, 3)) {
				t.Errorf("machines run %v, want %s", got, tt.want)
			}
			if f.CallCount("Launch") != 0 {
				t.Error("a rollback ran a machine (the release command?)")
			}
		})
	}
}

func TestRollbackBrokenTargetRestores(t *testing.T) {
	f, ids, dir := setup(t, true)
	f.SetBehavior(v1, flyfake.Behavior{Crash: true, ExitCode: 1})
	code, rep := run(t, f, dir, "")
	if code != cmdutil.ExitFindings {
		t.Fatalf("exit %d", code)
	}
	if got := images(f, ids); !slices.Equal(got, slices.Repeat([]string{v2}, 3)) {
		t.Errorf("machines run %v: a failed rollback must leave them as they were", got)
	}
	if rep.Conclusion != report.Failure {
		t.Errorf("conclusion %s", rep.Conclusion)
	}
}

func TestRollbackNeedsAppAndToken(t *testing.T) {
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	t.Setenv("FLY_APP", "")
	if code, err := Run(context.Background(), &Options{Dir: t.TempDir()}); code != cmdutil.ExitUsage || !errors.Is(err, fly.ErrNoToken) {
		t.Errorf("no token: %d, %v", code, err)
	}
	f := flyfake.New(app)
	code, err := Run(context.Background(), &Options{Dir: t.TempDir(), Fly: func(context.Context) (fly.API, error) { return f, nil }})
	if code != cmdutil.ExitUsage || !cmdutil.IsUsage(err) {
		t.Errorf("no app: %d, %v", code, err)
	}
}
