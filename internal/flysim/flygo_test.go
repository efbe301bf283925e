package flysim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
	"github.com/superfly/fly-go/tokens"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

const testToken = "fo1_flysim-test-token"

// flapsClient points fly-go's Machines client at sim the only way fly-go
// v0.2.2 allows: the FLY_FLAPS_BASE_URL variable, read by NewWithOptions.
func flapsClient(t *testing.T, sim *flysimtest.Sim) *flaps.Client {
	t.Helper()
	t.Setenv("FLY_FLAPS_BASE_URL", sim.URL)
	fc, err := flaps.NewWithOptions(context.Background(), flaps.NewClientOpts{Tokens: tokens.Parse(testToken), UserAgent: "deploy-action-test"})
	if err != nil {
		t.Fatal(err)
	}
	return fc
}

// TestFlyGoDrivesTheEmulator proves the contract fly-go relies on: every
// call the deploy engine makes, made by fly-go's own client.
func TestFlyGoDrivesTheEmulator(t *testing.T) {
	sim := newSim(t, map[string]simapp.Faults{newImage: {}}, func(o *flysim.Options) { o.Token = testToken })
	fc := flapsClient(t, sim)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	app, err := fc.GetApp(ctx, testApp)
	if err != nil || app.Name != testApp || app.Organization.Slug != "personal" {
		t.Fatalf("GetApp = %+v, %v", app, err)
	}
	if _, err := fc.GetApp(ctx, "missing"); err == nil || err.Error() != "app not found" || !errors.Is(err, flaps.FlapsErrorNotFound) {
		t.Errorf("GetApp(missing) error %v, want fly-go's \"app not found\" 404", err)
	}

	// Secrets: names and digests through fly-go.
	if _, err := fc.SetAppSecret(ctx, testApp, "SECRET_KEY", "k-value"); err != nil {
		t.Fatal(err)
	}
	db := "postgresql+asyncpg://u:p@db/app"
	if _, err := fc.UpdateAppSecrets(ctx, testApp, map[string]*string{"DATABASE_URL": &db}); err != nil {
		t.Fatal(err)
	}
	secrets, err := fc.ListAppSecrets(ctx, testApp, nil, true)
	if err != nil || len(secrets) != 2 {
		t.Fatalf("ListAppSecrets = %+v, %v", secrets, err)
	}
	for _, s := range secrets {
		if s.Value != nil || s.Digest == "" {
			t.Errorf("secret %s: value %v digest %q", s.Name, s.Value, s.Digest)
		}
	}

	var ids []string
	for range 3 {
		m, err := fc.Launch(ctx, testApp, fly.LaunchMachineInput{Config: appConfig(goodImage), Region: "gru"})
		if err != nil {
			t.Fatalf("Launch: %v", err)
		}
		ids = append(ids, m.ID)
		if err := fc.Wait(ctx, testApp, m, "started", 30*time.Second); err != nil {
			t.Fatalf("Wait started: %v", err)
		}
	}
	// fly-go's List puts the state straight after "?": flyctl passes "".
	machines, err := fc.List(ctx, testApp, "")
	if err != nil || len(machines) != 3 {
		t.Fatalf("List = %d machines, %v", len(machines), err)
	}
	active, err := fc.ListActive(ctx, testApp)
	if err != nil || len(active) != 3 {
		t.Fatalf("ListActive = %d machines, %v", len(active), err)
	}
	appMachines, releaseMachine, err := fc.ListFlyAppsMachines(ctx, testApp)
	if err != nil || len(appMachines) != 3 || releaseMachine != nil {
		t.Fatalf("ListFlyAppsMachines = %d, %v, %v", len(appMachines), releaseMachine, err)
	}

	// Leases: the envelope, a conflict, a refresh.
	id := ids[0]
	ttl := 30
	lease, err := fc.AcquireLease(ctx, testApp, id, &ttl)
	if err != nil || lease.Status != "success" || lease.Data == nil {
		t.Fatalf("AcquireLease = %+v, %v", lease, err)
	}
	nonce := lease.Data.Nonce
	found, err := fc.FindLease(ctx, testApp, id)
	if err != nil || found.Data.Nonce != nonce {
		t.Errorf("FindLease = %+v, %v", found, err)
	}
	short, cancelShort := context.WithTimeout(ctx, 700*time.Millisecond)
	_, err = fc.AcquireLease(short, testApp, id, &ttl)
	cancelShort()
	if err == nil {
		t.Error("second AcquireLease succeeded")
	}
	refreshed, err := fc.RefreshLease(ctx, testApp, id, &ttl, nonce)
	if err != nil || refreshed.Data.Nonce != nonce {
		t.Errorf("RefreshLease = %+v, %v", refreshed, err)
	}

	// Update needs the nonce; fly-go passes it in the header.
	cfg := appConfig(newImage)
	if _, err := fc.Update(ctx, testApp, fly.LaunchMachineInput{ID: id, Config: cfg}, ""); err == nil {
		t.Error("Update without the nonce succeeded")
	} else if !strings.Contains(err.Error(), "lease currently held by") {
		t.Errorf("Update without the nonce: %v", err)
	}
	updated, err := fc.Update(ctx, testApp, fly.LaunchMachineInput{ID: id, Config: cfg}, nonce)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := fc.Wait(ctx, testApp, updated, "started", 30*time.Second); err != nil {
		t.Fatalf("Wait after update: %v", err)
	}
	if err := fc.SetMetadata(ctx, testApp, id, "deploy_previous_image", goodImage); err != nil {
		t.Fatal(err)
	}
	md, err := fc.GetMetadata(ctx, testApp, id)
	if err != nil || md["deploy_previous_image"] != goodImage {
		t.Errorf("GetMetadata = %v, %v", md, err)
	}
	if err := fc.DeleteMetadata(ctx, testApp, id, "deploy_previous_image"); err != nil {
		t.Error(err)
	}
	for {
		m, err := fc.Get(ctx, testApp, id)
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Image != newImage {
			t.Fatalf("image after update %s", m.Config.Image)
		}
		if st := m.AllHealthChecks(); st.Total == 1 && st.AllPassing() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ps, err := fc.GetProcesses(ctx, testApp, id)
	if err != nil || len(ps) == 0 || ps[0].Pid == 0 {
		t.Errorf("GetProcesses = %+v, %v", ps, err)
	}
	if err := fc.ReleaseLease(ctx, testApp, id, nonce); err != nil {
		t.Errorf("ReleaseLease: %v", err)
	}

	// Stop, start, restart, destroy.
	m1, _ := fc.Get(ctx, testApp, ids[1])
	if err := fc.Stop(ctx, testApp, fly.StopMachineInput{ID: m1.ID, Signal: "SIGTERM", Timeout: fly.Duration{Duration: 2 * time.Second}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := fc.Wait(ctx, testApp, m1, "stopped", 30*time.Second); err != nil {
		t.Fatalf("Wait stopped: %v", err)
	}
	if start, err := fc.Start(ctx, testApp, m1.ID, ""); err != nil || start.PreviousState != "stopped" {
		t.Errorf("Start = %+v, %v", start, err)
	}
	if err := fc.Wait(ctx, testApp, m1, "started", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := fc.Restart(ctx, testApp, fly.RestartMachineInput{ID: m1.ID, Signal: "SIGTERM"}, ""); err != nil {
		t.Error(err)
	}
	if err := fc.Wait(ctx, testApp, m1, "started", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m2, _ := fc.Get(ctx, testApp, ids[2])
	if err := fc.Destroy(ctx, testApp, fly.RemoveMachineInput{ID: m2.ID}, ""); err == nil {
		t.Error("Destroy of a running machine without kill succeeded")
	}
	if err := fc.Destroy(ctx, testApp, fly.RemoveMachineInput{ID: m2.ID, Kill: true}, ""); err != nil {
		t.Fatal(err)
	}
	if err := fc.Wait(ctx, testApp, m2, "destroyed", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	err = fc.Wait(ctx, testApp, m2, "started", time.Second)
	var ferr *flaps.FlapsError
	if !errors.As(err, &ferr) || ferr.ResponseStatusCode != http.StatusNotFound {
		t.Errorf("Wait started on a destroyed machine: %v, want a 404 FlapsError", err)
	}

	// A Wait that times out is a 408 FlapsError.
	err = fc.Wait(ctx, testApp, m1, "stopped", time.Second)
	if !errors.As(err, &ferr) || ferr.ResponseStatusCode != http.StatusRequestTimeout {
		t.Errorf("Wait timeout: %v, want a 408 FlapsError", err)
	}

	// A launch failure carries Fly's status for fly-go's suggestion.
	sim.FailNextLaunch(testApp)
	_, err = fc.Launch(ctx, testApp, fly.LaunchMachineInput{Config: appConfig(goodImage)})
	if !errors.As(err, &ferr) || ferr.Suggestion() == "" {
		t.Errorf("failed launch: %v, want a FlapsError with a suggestion", err)
	}

	// fly-go retries 503s by itself: a short burst is invisible.
	sim.InjectStatus("/v1/apps/"+testApp+"/machines", http.StatusServiceUnavailable, 2)
	if _, err := fc.List(ctx, testApp, ""); err != nil {
		t.Errorf("List through two 503s: %v", err)
	}
	sim.InjectStatus("/v1/apps/"+testApp+"/machines", http.StatusInternalServerError, 1)
	if _, err := fc.List(ctx, testApp, ""); err == nil {
		t.Error("List through a 500 succeeded")
	}
}

// TestFlyGoLogsAndReleases drives the logs endpoint and the releases
// GraphQL queries with fly-go's API client, which reads its base URL from
// the package-wide fly.SetBaseURL.
func TestFlyGoLogsAndReleases(t *testing.T) {
	const failing = "registry.fly.io/grupo-gad:bad-migration"
	sim := newSim(t, map[string]simapp.Faults{failing: {ReleaseExitCode: 1, ReleaseFailure: simapp.FailNoDatabaseURL}})
	fc := flapsClient(t, sim)
	fly.SetBaseURL(sim.URL)
	t.Cleanup(func() { fly.SetBaseURL("") })
	client := fly.NewClientFromOptions(fly.ClientOptions{AccessToken: testToken, BaseURL: sim.URL, Name: "deploy-action", Version: "test"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cfg := appConfig(failing)
	cfg.Init.Cmd = []string{"alembic", "upgrade", "head"}
	cfg.Restart = &fly.MachineRestart{Policy: fly.MachineRestartPolicyNo}
	cfg.AutoDestroy = true
	cfg.Services = nil
	m, err := fc.Launch(ctx, testApp, fly.LaunchMachineInput{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Wait(ctx, testApp, m, "destroyed", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	entries, next, err := client.GetAppLogs(ctx, testApp, "", "", m.ID)
	if err != nil {
		t.Fatal(err)
	}
	var text []string
	for _, e := range entries {
		if e.Instance != m.ID || e.Region != "iad" || e.Timestamp == "" {
			t.Errorf("log entry %+v", e)
		}
		text = append(text, e.Message)
	}
	joined := strings.Join(text, "\n")
	if !strings.Contains(joined, "KeyError: 'DATABASE_URL'") || !strings.Contains(joined, "Main child exited normally with code: 1") {
		t.Errorf("release logs:\n%s", joined)
	}
	more, _, err := client.GetAppLogs(ctx, testApp, next, "", m.ID)
	if err != nil || len(more) != 0 {
		t.Errorf("logs after next_token: %d entries, %v", len(more), err)
	}

	// Releases: created and completed through the mutations fly-go has,
	// then listed.
	created, err := client.CreateRelease(ctx, fly.CreateReleaseInput{AppId: testApp, Image: goodImage, PlatformVersion: "machines", Strategy: "ROLLING"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.UpdateRelease(ctx, fly.UpdateReleaseInput{ReleaseId: created.CreateRelease.Release.Id, Status: "complete"}); err != nil {
		t.Fatal(err)
	}
	releases, err := client.GetAppReleasesMachines(ctx, testApp, "", 10)
	if err != nil || len(releases) != 1 || releases[0].ImageRef != goodImage || releases[0].Version != 1 || !releases[0].Stable {
		t.Errorf("releases = %+v, %v", releases, err)
	}
	current, err := client.GetAppCurrentReleaseMachines(ctx, testApp)
	if err != nil || current == nil || current.ID != created.CreateRelease.Release.Id {
		t.Errorf("current release = %+v, %v", current, err)
	}
}

func flapsCreateApp(name string) flaps.CreateAppRequest {
	return flaps.CreateAppRequest{Name: name, Org: "personal"}
}
