package deploy

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
	"github.com/grupo-gad/deploy-action/internal/health"
	"github.com/grupo-gad/deploy-action/internal/remote"
)

func TestMain(m *testing.M) {
	simapp.MainIfReexec()
	os.Exit(m.Run())
}

// TestRunAgainstFlysim deploys examples/grupo-gad for real — fly-go on the
// wire, machines as processes, checks as HTTP probes — with the API found
// the way the CLI finds it: FLY_API_TOKEN and FLY_FLAPS_BASE_URL.
func TestRunAgainstFlysim(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with real processes")
	}
	const token = "fo1_cmd-deploy-test"
	sim := flysimtest.New(t, flysim.Options{Region: "mad", Token: token, TimeScale: 0.05,
		Images: map[string]flysim.Image{newImage: flysim.ReexecImage(simapp.Faults{})}})
	if err := sim.CreateApp(app); err != nil {
		t.Fatal(err)
	}
	edge, err := sim.AppURL(app)
	if err != nil {
		t.Fatal(err)
	}
	fx := newFixture(t) // for its options; its fake is not used
	for _, n := range []string{"SECRET_KEY", "JWT_SECRET_KEY", "DATABASE_URL"} {
		if err := sim.SetSecret(app, n, "v"); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FLY_API_TOKEN", token)
	t.Setenv("FLY_FLAPS_BASE_URL", sim.URL)
	t.Setenv("FLY_API_BASE_URL", sim.URL)

	var out bytes.Buffer
	o := fx.options(&out)
	o.Fly = nil // from the environment
	o.HealthURL = edge + "/health"
	o.InitialMachines = 2
	o.WaitTimeout = 20 * time.Second
	o.Health = health.Options{Samples: 3, Interval: 50 * time.Millisecond}
	code, err := Run(context.Background(), o)
	if err != nil || code != cmdutil.ExitOK {
		t.Fatalf("Run = %d, %v\n%s", code, err, out.String())
	}
	n := 0
	for _, m := range sim.Machines(app) {
		if m.State == flygo.MachineStateStarted {
			n++
			if m.Image != newImage {
				t.Errorf("machine %s runs %s", m.ID, m.Image)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d machines started, want 2", n)
	}
	rep := readReport(t, &out)
	if !has(rep, remote.RuleSecretsSummary) || !has(rep, health.RuleFigures) {
		t.Errorf("report lacks the remote check or the verification: %+v", rep.Findings())
	}
}
