package fly_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
	"github.com/grupo-gad/deploy-action/internal/fly/flyfake"
)

func TestClientOptionsFromEnv(t *testing.T) {
	t.Setenv(fly.EnvAPIToken, "")
	t.Setenv(fly.EnvAccessToken, "")
	t.Setenv(fly.EnvMachinesURL, "http://127.0.0.1:1")
	if _, err := fly.ClientOptionsFromEnv(); !errors.Is(err, fly.ErrNoToken) {
		t.Fatalf("err = %v, want ErrNoToken", err)
	}
	t.Setenv(fly.EnvAccessToken, " access ")
	o, err := fly.ClientOptionsFromEnv()
	if err != nil || o.Token != "access" || o.MachinesURL != "http://127.0.0.1:1" {
		t.Fatalf("%+v %v", o, err)
	}
	t.Setenv(fly.EnvAPIToken, "api")
	if o, _ := fly.ClientOptionsFromEnv(); o.Token != "api" {
		t.Errorf("FLY_API_TOKEN must win, got %q", o.Token)
	}
}

// TestClientReachesBaseURL checks both ways of pointing the client at a
// Machines API: the options (rebased in the transport) and fly-go's own
// FLY_FLAPS_BASE_URL; and that the logs go to APIURL.
func TestClientReachesBaseURL(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		if !strings.Contains(r.Header.Get("Authorization"), "secret-token") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/machines"):
			_ = json.NewEncoder(w).Encode([]flygo.Machine{{ID: "m1", State: "started"}})
		case strings.HasSuffix(r.URL.Path, "/logs"):
			_, _ = w.Write([]byte(`{"data":[{"id":"1","attributes":{"timestamp":"t","message":"hello","instance":"m1"}}],"meta":{"next_token":"n"}}`))
		default:
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error":"not found"}`))
		}
	}))
	defer srv.Close()

	t.Setenv(fly.EnvMachinesURL, "")
	c, err := fly.NewClient(context.Background(), fly.ClientOptions{Token: "secret-token", MachinesURL: srv.URL + "/prefix", APIURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.List(context.Background(), "app", "")
	if err != nil || len(ms) != 1 || ms[0].ID != "m1" {
		t.Fatalf("List = %v, %v", ms, err)
	}
	if paths[0] != "/prefix/v1/apps/app/machines" {
		t.Errorf("request went to %s", paths[0])
	}
	logs, next, err := c.GetAppLogs(context.Background(), "app", "", "", "m1")
	if err != nil || len(logs) != 1 || logs[0].Message != "hello" || next != "n" {
		t.Fatalf("GetAppLogs = %v %q %v", logs, next, err)
	}
	_, err = c.Get(context.Background(), "app", "nope")
	if !fly.IsNotFound(err) || fly.StatusCode(err) != 404 {
		t.Errorf("Get missing: %v", err)
	}

	t.Setenv(fly.EnvMachinesURL, srv.URL)
	t.Setenv(fly.EnvAPIToken, "secret-token")
	c2, err := fly.NewClientFromEnv(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.List(context.Background(), "app", ""); err != nil {
		t.Fatal(err)
	}
	if last := paths[len(paths)-1]; last != "/v1/apps/app/machines" {
		t.Errorf("request went to %s", last)
	}
}

func TestIsTransient(t *testing.T) {
	f := flyfake.New("app")
	for _, tt := range []struct {
		status int
		want   bool
	}{{500, true}, {502, true}, {503, true}, {504, true}, {429, true}, {400, false}, {404, false}, {409, false}, {408, false}} {
		f.Fail("List", 1, tt.status)
		_, err := f.List(context.Background(), "app", "")
		if got := fly.IsTransient(err); got != tt.want {
			t.Errorf("IsTransient(%d) = %v", tt.status, got)
		}
	}
	if fly.IsTransient(context.Canceled) || fly.IsTransient(nil) {
		t.Error("context errors are not transient")
	}
}

func fastRetry(api fly.API, retries *atomic.Int32) fly.API {
	return fly.WithRetry(api, fly.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 2 * time.Millisecond,
		OnRetry: func(string, int, error) { retries.Add(1) }})
}

func TestWithRetry(t *testing.T) {
	f := flyfake.New("app")
	id := f.AddMachine("mad", &flygo.MachineConfig{Image: "v1"})
	var retries atomic.Int32
	api := fastRetry(f, &retries)
	ctx := context.Background()

	f.Fail("Get", 3, 503)
	if _, err := api.Get(ctx, "app", id); err != nil || retries.Load() != 3 {
		t.Fatalf("Get after 3×503: %v, %d retries", err, retries.Load())
	}
	f.Fail("Get", 4, 500)
	if _, err := api.Get(ctx, "app", id); fly.StatusCode(err) != 500 {
		t.Fatalf("Get after 4×500 with 4 attempts: %v", err)
	}
	retries.Store(0)
	f.Fail("Update", 1, 400)
	if _, err := api.Update(ctx, "app", flygo.LaunchMachineInput{ID: id, Config: &flygo.MachineConfig{Image: "v2"}}, ""); fly.StatusCode(err) != 400 || retries.Load() != 0 {
		t.Fatalf("a 400 was retried: %v, %d", err, retries.Load())
	}

	// Destroy: a 404 after a failed attempt means it worked.
	f.Fail("Destroy", 1, 502)
	if err := api.Destroy(ctx, "app", flygo.RemoveMachineInput{ID: id}, ""); err != nil {
		t.Fatal(err)
	}
	if err := api.Destroy(ctx, "app", flygo.RemoveMachineInput{ID: id}, ""); !fly.IsNotFound(err) {
		t.Fatalf("destroying a destroyed machine: %v", err)
	}
}

// launchLost answers 503 after creating the machine, as a proxy can.
type launchLost struct {
	*flyfake.Fake
	n int
}

func (l *launchLost) Launch(ctx context.Context, app string, in flygo.LaunchMachineInput) (*flygo.Machine, error) {
	m, err := l.Fake.Launch(ctx, app, in)
	if err == nil && l.n == 0 {
		l.n++
		l.Fake.Fail("GetApp", 1, 503) // produce a genuine FlapsError value
		_, err = l.Fake.GetApp(ctx, "app")
		return nil, err
	}
	return m, err
}

func TestRetryLaunchIsNotDoubled(t *testing.T) {
	f := &launchLost{Fake: flyfake.New("app")}
	var retries atomic.Int32
	api := fastRetry(f, &retries)
	m, err := api.Launch(context.Background(), "app", flygo.LaunchMachineInput{Name: "release-1", Config: &flygo.MachineConfig{Image: "v1"}})
	if err != nil || m == nil || m.Name != "release-1" {
		t.Fatalf("Launch = %v, %v", m, err)
	}
	if n := f.CallCount("Launch"); n != 1 {
		t.Errorf("%d launches: the retry must find the machine the failed attempt created", n)
	}
	// Without a name a failed launch is not retried.
	f.Fail("Launch", 1, 503)
	if _, err := api.Launch(context.Background(), "app", flygo.LaunchMachineInput{Config: &flygo.MachineConfig{Image: "v1"}}); err == nil {
		t.Error("an unnamed launch was retried")
	}
}
