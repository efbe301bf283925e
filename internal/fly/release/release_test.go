package release

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
)

func spec(image string) Spec {
	return Spec{App: "app", Image: image, Command: "alembic upgrade head", Env: map[string]string{"PORT": "8080"},
		Timeout: 3 * time.Second, WaitSlice: time.Second, LogWait: 50 * time.Millisecond}
}

func TestRunSucceeds(t *testing.T) {
	f := flyfake.New("app")
	f.SetBehavior("img:ok", flyfake.Behavior{RunFor: 20 * time.Millisecond})
	res, err := Run(context.Background(), f, spec("img:ok"))
	if err != nil || res.ExitCode != 0 || res.MachineID == "" || !slices.Equal(res.Argv, []string{"alembic", "upgrade", "head"}) {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if m := f.Machine(res.MachineID); m.State != flygo.MachineStateDestroyed {
		t.Errorf("release machine is %s", m.State)
	}
	if f.CallCount("GetAppLogs") != 0 {
		t.Error("logs fetched for a successful run")
	}
}

func TestRunFails(t *testing.T) {
	f := flyfake.New("app")
	f.SetBehavior("img:bad", flyfake.Behavior{ExitCode: 1, Logs: []string{"KeyError: 'DATABASE_URL'"}})
	res, err := Run(context.Background(), f, spec("img:bad"))
	var ee *ExitError
	if !errors.As(err, &ee) || res.ExitCode != 1 || len(res.LogTail) != 1 || !strings.Contains(res.LogTail[0], "DATABASE_URL") {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if !strings.Contains(err.Error(), "exited with code 1") {
		t.Errorf("error %q", err)
	}
}

func TestRunTimesOut(t *testing.T) {
	f := flyfake.New("app")
	f.SetBehavior("img:hang", flyfake.Behavior{StayUp: true})
	s := spec("img:hang")
	s.Timeout = 1200 * time.Millisecond
	res, err := Run(context.Background(), f, s)
	var ee *ExitError
	if !errors.As(err, &ee) || !res.TimedOut {
		t.Fatalf("Run = %+v, %v", res, err)
	}
	if m := f.Machine(res.MachineID); m.State != flygo.MachineStateDestroyed {
		t.Errorf("hung release machine left %s", m.State)
	}
}

func TestRunCancelledDestroysMachine(t *testing.T) {
	f := flyfake.New("app")
	f.SetBehavior("img:hang", flyfake.Behavior{StayUp: true})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := Run(ctx, f, spec("img:hang"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if m := f.Machine(res.MachineID); m.State != flygo.MachineStateDestroyed {
		t.Errorf("release machine left %s after cancel", m.State)
	}
}

func TestCommandAndConfig(t *testing.T) {
	f := flyfake.New("app")
	s := spec("img")
	s.Command = "alembic upgrade head && seed"
	var ce *CommandError
	if _, err := Run(context.Background(), f, s); !errors.As(err, &ce) || f.CallCount("Launch") != 0 {
		t.Fatalf("err = %v", err)
	}
	if _, err := Argv("  "); err == nil {
		t.Error("empty command accepted")
	}
	s.Env["RELEASE_COMMAND"] = "custom"
	c := Config(s, []string{"python", "-m", "migrate"})
	if c.Env["RELEASE_COMMAND"] != "custom" || c.Env["PORT"] != "8080" || !c.AutoDestroy || c.Restart.Policy != flygo.MachineRestartPolicyNo ||
		!c.DNS.SkipRegistration || c.ProcessGroup() != ProcessGroup || c.Init.Cmd[0] != "python" {
		t.Errorf("config %+v", c)
	}
	s.Env = nil
	if c := Config(s, []string{"x"}); c.Env["RELEASE_COMMAND"] != "1" {
		t.Errorf("RELEASE_COMMAND = %q", c.Env["RELEASE_COMMAND"])
	}
}
