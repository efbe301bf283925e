package flysim_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/flysim/simapp"
)

const newImage = "registry.fly.io/grupo-gad:deployment-new"

func TestUpdateNeedsTheLeaseNonce(t *testing.T) {
	sim := newSim(t, map[string]simapp.Faults{newImage: {}})
	c := api{t, sim.URL}
	m := c.launch(appConfig(goodImage))
	c.wait(m.ID, "started")
	base := "/v1/apps/" + testApp + "/machines/" + m.ID

	var lease fly.MachineLease
	c.must(201, "POST", base+"/lease?ttl=30", nil).decode(t, &lease)
	if lease.Status != "success" || lease.Data == nil || lease.Data.Nonce == "" || lease.Data.ExpiresAt == 0 {
		t.Fatalf("lease answer is not Fly's envelope: %+v", lease)
	}
	nonce := lease.Data.Nonce
	update := fly.LaunchMachineInput{Config: appConfig(newImage)}

	tests := []struct {
		name   string
		nonce  string
		status int
		text   string
	}{
		{"no nonce", "", 412, "lease currently held by"},
		{"wrong nonce", "not-the-nonce", 412, "lease currently held by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h []string
			if tt.nonce != "" {
				h = []string{"fly-machine-lease-nonce", tt.nonce}
			}
			r := c.do("POST", base, update, h...)
			if r.status != tt.status || !strings.Contains(r.errorText(), tt.text) {
				t.Errorf("update: %d %s, want %d with %q", r.status, r.body, tt.status, tt.text)
			}
		})
	}
	if got := sim.MachineImage(testApp, m.ID); got != goodImage {
		t.Fatalf("a refused update changed the image to %s", got)
	}

	// A stale current_version is a 409, as the description says.
	stale := struct {
		fly.LaunchMachineInput
		CurrentVersion string `json:"current_version"`
	}{update, "01AAAAAAAAAAAAAAAAAAAAAAAA"}
	if r := c.do("POST", base, stale, "fly-machine-lease-nonce", nonce); r.status != 409 {
		t.Errorf("update with a stale current_version: %d %s, want 409", r.status, r.body)
	}

	var updated fly.Machine
	c.must(200, "POST", base, update, "fly-machine-lease-nonce", nonce).decode(t, &updated)
	if updated.InstanceID == m.InstanceID || updated.Config.Image != newImage || updated.State != "replacing" {
		t.Errorf("update answer: version %s (was %s), image %s, state %s", updated.InstanceID, m.InstanceID, updated.Config.Image, updated.State)
	}
	c.wait(m.ID, "started")
	after := c.waitFor(m.ID, "checks passing on the new version", allPassing)
	if after.InstanceID != updated.InstanceID || sim.MachineImage(testApp, m.ID) != newImage {
		t.Errorf("after update: version %s, image %s", after.InstanceID, sim.MachineImage(testApp, m.ID))
	}
	// The old process was stopped on request, the new one started.
	if e := latestExit(t, after); !e.RequestedStop {
		t.Errorf("exit of the replaced process: %+v, want requested_stop", e)
	}
	if after.Events[0].Type != "start" || after.GetLatestEventOfType("update") == nil {
		t.Errorf("events %+v, want start newest and an update", after.Events)
	}

	c.must(200, "DELETE", base+"/lease", nil, "fly-machine-lease-nonce", nonce)
	// Without a lease, a nonce means nothing: Fly refuses it.
	if r := c.do("POST", base+"/stop", nil, "fly-machine-lease-nonce", nonce); r.status != 412 {
		t.Errorf("stop with a released nonce: %d %s, want 412", r.status, r.body)
	}
	c.must(200, "POST", base+"/stop", nil)
	c.wait(m.ID, "stopped")
}

func TestLeases(t *testing.T) {
	now := time.Date(2026, 5, 14, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	sim := newSim(t, nil, func(o *flysim.Options) { o.Now = clock })
	c := api{t, sim.URL}
	m := c.launch(appConfig(goodImage))
	base := "/v1/apps/" + testApp + "/machines/" + m.ID + "/lease"

	if r := c.do("GET", base, nil); r.status != 404 || r.errorText() != "lease not found" {
		t.Errorf("no lease: %d %s", r.status, r.body)
	}
	var l fly.MachineLease
	c.must(201, "POST", base+"?ttl=10", nil, "Authorization", "Bearer tok-a").decode(t, &l)
	nonce := l.Data.Nonce
	if l.Data.ExpiresAt != now.Add(10*time.Second).Unix() {
		t.Errorf("expires_at %d, want now+10s", l.Data.ExpiresAt)
	}

	// Anyone without the nonce, the same owner included, gets 409.
	for _, tok := range []string{"Bearer tok-a", "Bearer tok-b"} {
		r := c.do("POST", base+"?ttl=10", nil, "Authorization", tok)
		if r.status != 409 || !strings.Contains(r.errorText(), fmt.Sprintf("machine ID %s lease currently held by %s", m.ID, l.Data.Owner)) {
			t.Errorf("second acquire (%s): %d %s, want 409 naming the holder", tok, r.status, r.body)
		}
	}
	// Refresh keeps the nonce and moves the expiry.
	advance(5 * time.Second)
	var refreshed fly.MachineLease
	c.must(201, "POST", base+"?ttl=10", nil, "fly-machine-lease-nonce", nonce).decode(t, &refreshed)
	if refreshed.Data.Nonce != nonce || refreshed.Data.ExpiresAt != now.Add(10*time.Second).Unix() {
		t.Errorf("refresh: %+v", refreshed.Data)
	}
	// Release needs the nonce.
	if r := c.do("DELETE", base, nil, "fly-machine-lease-nonce", "wrong"); r.status != 409 {
		t.Errorf("release with a wrong nonce: %d", r.status)
	}
	// TTL expiry frees the machine.
	advance(11 * time.Second)
	if r := c.do("GET", base, nil); r.status != 404 {
		t.Errorf("expired lease still served: %d %s", r.status, r.body)
	}
	if r := c.do("DELETE", base, nil, "fly-machine-lease-nonce", nonce); r.status != 404 || r.errorText() != "lease not found" {
		t.Errorf("releasing an expired lease: %d %s, want 404 lease not found (flyctl ignores that text)", r.status, r.body)
	}

	// A lease injected for another owner.
	if err := sim.InjectLeaseHeld(testApp, m.ID, "ci-deploy@tokens.fly.io", time.Minute); err != nil {
		t.Fatal(err)
	}
	r := c.do("POST", base+"?ttl=10", nil)
	if r.status != 409 || !strings.Contains(r.errorText(), "ci-deploy@tokens.fly.io") {
		t.Errorf("acquire under an injected lease: %d %s", r.status, r.body)
	}
	if got := sim.Leases(testApp); len(got) != 1 || got[0].Owner != "ci-deploy@tokens.fly.io" {
		t.Errorf("Leases = %+v", got)
	}
	var withLease fly.Machine
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines/"+m.ID+"?include_leases=true", nil).decode(t, &withLease)
	if withLease.LeaseNonce != "" {
		t.Errorf("GET leaked the nonce %q", withLease.LeaseNonce)
	}
}

func TestLaunchWithLeaseTTLReturnsNonce(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	var m fly.Machine
	c.must(200, "POST", "/v1/apps/"+testApp+"/machines", fly.LaunchMachineInput{Config: appConfig(goodImage), LeaseTTL: 30, SkipLaunch: true}).decode(t, &m)
	if m.LeaseNonce == "" {
		t.Fatal("launch with lease_ttl returned no nonce")
	}
	if got := sim.Leases(testApp); len(got) != 1 || got[0].Nonce != m.LeaseNonce {
		t.Errorf("Leases = %+v", got)
	}
	if got := c.get(m.ID); got.State != fly.MachineStateCreated || got.LeaseNonce != "" {
		t.Errorf("skip_launch machine: state %s, nonce %q", got.State, got.LeaseNonce)
	}
}

func TestWait(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	m := c.launch(appConfig(goodImage))
	base := "/v1/apps/" + testApp + "/machines/" + m.ID
	c.must(200, "GET", base+"/wait?state=started&timeout=10&instance_id="+m.InstanceID, nil)

	tests := []struct {
		query  string
		status int
	}{
		{"state=stopped&timeout=1", 408},
		{"state=started&timeout=61", 400},
		{"state=started&timeout=0", 400},
		{"state=sleeping", 400},
		{"state=started", 200},
		{"state=settled&timeout=1", 200},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			start := time.Now()
			r := c.do("GET", base+"/wait?"+tt.query, nil)
			if r.status != tt.status {
				t.Errorf("wait?%s: %d %s, want %d", tt.query, r.status, r.body, tt.status)
			}
			if tt.status == 408 && time.Since(start) < 900*time.Millisecond {
				t.Errorf("wait answered 408 after %s, before its timeout", time.Since(start))
			}
		})
	}

	// A wait in progress sees the stop.
	done := make(chan response, 1)
	go func() { done <- c.do("GET", base+"/wait?state=stopped&timeout=30", nil) }()
	time.Sleep(50 * time.Millisecond)
	c.must(200, "POST", base+"/stop", fly.StopMachineInput{Signal: "SIGTERM"})
	if r := <-done; r.status != 200 {
		t.Errorf("wait for stopped: %d %s", r.status, r.body)
	}
	if e := latestExit(t, c.get(m.ID)); !e.RequestedStop || e.ExitCode != 0 {
		t.Errorf("exit after stop: %+v, want requested_stop and code 0", e)
	}
	if r := c.do("POST", base+"/start", nil); r.status != 200 {
		t.Fatalf("start: %d %s", r.status, r.body)
	}
	c.wait(m.ID, "started")
	if r := c.do("POST", base+"/start", nil); r.status != 412 {
		t.Errorf("start of a started machine: %d, want 412", r.status)
	}

	// Destroyed: waiting for anything else is a 404 (flyctl's "destroyed
	// quickly"), waiting for destroyed succeeds.
	if r := c.do("DELETE", base, nil); r.status != 412 {
		t.Errorf("destroy of a running machine without force: %d %s, want 412", r.status, r.body)
	}
	c.must(200, "DELETE", base+"?force=true", nil)
	c.must(200, "GET", base+"/wait?state=destroyed&timeout=10", nil)
	if r := c.do("GET", base+"/wait?state=started&timeout=1", nil); r.status != 404 {
		t.Errorf("wait started on a destroyed machine: %d, want 404", r.status)
	}
	var list []fly.Machine
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines", nil).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("destroyed machine listed: %+v", list)
	}
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines?include_deleted=true", nil).decode(t, &list)
	if len(list) != 1 || list[0].State != fly.MachineStateDestroyed {
		t.Errorf("include_deleted: %+v", list)
	}
}

func TestMetadata(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	m := c.launch(appConfig(goodImage))
	base := "/v1/apps/" + testApp + "/machines/" + m.ID + "/metadata"
	c.must(204, "POST", base+"/previous_image", map[string]string{"value": goodImage})
	var md map[string]string
	c.must(200, "GET", base, nil).decode(t, &md)
	if md["previous_image"] != goodImage || md["fly_process_group"] != "app" {
		t.Errorf("metadata %v", md)
	}
	if got := c.get(m.ID); got.Config.Metadata["previous_image"] != goodImage || got.InstanceID != m.InstanceID {
		t.Errorf("metadata write changed the version or was not in config: %+v", got.Config.Metadata)
	}
	c.must(204, "DELETE", base+"/previous_image", nil)
	md = nil
	c.must(200, "GET", base, nil).decode(t, &md)
	if _, ok := md["previous_image"]; ok {
		t.Errorf("deleted key still there: %v", md)
	}
	var filtered []fly.Machine
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines?metadata.fly_process_group=app", nil).decode(t, &filtered)
	if len(filtered) != 1 {
		t.Errorf("metadata filter: %d machines", len(filtered))
	}
}
