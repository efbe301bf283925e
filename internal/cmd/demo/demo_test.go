package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	flydeploy "github.com/grupo-gad/deploy-action/internal/fly/deploy"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// TestMain makes this test binary what deploy-action is to the demo's
// machines: `<binary> simapp …` runs simapp.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "simapp" {
		os.Exit(simapp.Main(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func TestNewOptions(t *testing.T) {
	if o, err := NewOptions(cmdutil.IO{}, []string{"--dir", "x"}); err != nil || o.Dir != "x" {
		t.Errorf("NewOptions = %+v, %v", o, err)
	}
	if _, err := NewOptions(cmdutil.IO{}, []string{"extra"}); !cmdutil.IsUsage(err) {
		t.Errorf("an argument: %v", err)
	}
	if _, err := Execute(context.Background(), &Options{Dir: t.TempDir()}); !cmdutil.IsUsage(err) {
		t.Errorf("a --dir without fly.toml: %v", err)
	}
}

func TestFindDir(t *testing.T) {
	root := testutil.RepoRoot(t)
	t.Chdir(filepath.Join(root, "internal", "cmd"))
	dir, err := findDir("")
	if err != nil || dir != filepath.Join(root, "examples", "grupo-gad") {
		t.Errorf("findDir from a subfolder = %q, %v", dir, err)
	}
	t.Chdir(t.TempDir())
	if _, err := findDir(""); !cmdutil.IsUsage(err) {
		t.Errorf("findDir outside the checkout: %v", err)
	}
}

// TestDemo runs the whole demo: the good build deployed to 3 machines and
// verified, the broken one refused at its first machine and rolled back,
// every machine back on the good build. Its wall time is logged (the
// README's figure), never asserted.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end demo with real processes")
	}
	var out bytes.Buffer
	res, err := Execute(context.Background(), &Options{IO: cmdutil.IO{Out: &out, Err: &out}, Dir: filepath.Join(testutil.RepoRoot(t), "examples", "grupo-gad")})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo took %s", res.Duration)
	if !res.AsDesigned() {
		t.Fatalf("the demo did not behave as designed:\n%s", out.String())
	}
	g := res.Good
	if !g.Healthy || g.Deploy.Release == nil || g.Deploy.Release.ExitCode != 0 || len(g.Deploy.Machines) != Machines || g.Health == nil || !g.Health.OK() {
		t.Errorf("good deploy: %+v", g.Deploy)
	}
	b := res.Broken.Deploy
	if b.Failure == nil || b.Failure.Exit == nil || b.Failure.Exit.Code != 1 || !b.RolledBack || len(b.Updated()) != 0 {
		t.Errorf("broken deploy: failure %+v, rolled back %v, updated %v", b.Failure, b.RolledBack, b.Updated())
	}
	touched := 0
	for _, m := range b.Machines {
		if m.Restored {
			touched++
		}
	}
	if touched != 1 {
		t.Errorf("%d machines restored, want 1 (the rollout stops at the first)", touched)
	}
	for id, img := range res.Final {
		if img != GoodImage || !res.Healthy[id] {
			t.Errorf("machine %s: %s, healthy %v", id, img, res.Healthy[id])
		}
	}
	text := out.String()
	for _, want := range []string{
		"release: running `alembic upgrade head` on a one-off machine",
		"deploy: machine 3/3 ",
		"verify: healthy: 5/5 samples passed",
		"[" + flydeploy.RuleMachineCrashed + "]",
		`Could not import module "app.main"`,
		"restored and healthy on " + GoodImage,
		"3/3 machines on deployment-v1",
		"behaved as designed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the story lacks %q", want)
		}
	}
	if strings.Contains(text, "postgresql+asyncpg://grupo_gad:") {
		t.Error("a secret value was printed")
	}
}
