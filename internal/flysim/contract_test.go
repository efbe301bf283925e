package flysim_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	fly "github.com/superfly/fly-go"
)

// TestContract runs every operation the emulator serves, through fly-go and
// raw requests, and checks that each answer was validated against Fly's
// OpenAPI description (flysimtest fails the test on any violation; every
// other test of this package is held to the same check).
func TestContract(t *testing.T) {
	sim := newSim(t, nil)
	fc := flapsClient(t, sim)
	c := api{t, sim.URL}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	if _, err := fc.CreateApp(ctx, flapsCreateApp("contract-app")); err != nil {
		t.Fatal(err)
	}
	c.must(200, "GET", "/v1/apps?org_slug=personal", nil)
	if _, err := fc.GetApp(ctx, testApp); err != nil {
		t.Fatal(err)
	}
	m, err := fc.Launch(ctx, testApp, fly.LaunchMachineInput{Config: appConfig(goodImage), LeaseTTL: 30})
	if err != nil {
		t.Fatal(err)
	}
	if err := fc.Wait(ctx, testApp, m, "started", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	base := "/v1/apps/" + testApp + "/machines/" + m.ID
	if _, err := fc.List(ctx, testApp, ""); err != nil {
		t.Fatal(err)
	}
	ttl := 30
	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancelShort()
	if _, err := fc.AcquireLease(short, testApp, m.ID, &ttl); err == nil {
		t.Fatal("AcquireLease on a machine launched with lease_ttl succeeded")
	}
	c.waitFor(m.ID, "checks passing", allPassing)
	c.must(200, "GET", base+"/lease", nil)
	c.must(201, "POST", base+"/lease", map[string]any{"ttl": 30}, "fly-machine-lease-nonce", m.LeaseNonce)
	c.must(200, "POST", base, fly.LaunchMachineInput{Config: appConfig(goodImage)}, "fly-machine-lease-nonce", m.LeaseNonce)
	c.must(412, "POST", base, fly.LaunchMachineInput{Config: appConfig(goodImage)})
	c.must(409, "POST", base+"/lease", map[string]any{"ttl": 30})
	c.wait(m.ID, "started")
	c.waitFor(m.ID, "checks passing after the update", allPassing)
	c.must(200, "GET", base+"/events?limit=5", nil)
	c.must(200, "GET", base+"/ps", nil)
	c.must(200, "POST", base+"/exec", fly.MachineExecRequest{Cmd: "true"})
	c.must(204, "POST", base+"/metadata/k", map[string]string{"value": "v"})
	c.must(200, "GET", base+"/metadata/k", nil)
	c.must(204, "PATCH", base+"/metadata", map[string]any{"metadata": map[string]string{"k": ""}})
	c.must(404, "GET", base+"/metadata/k", nil)
	c.must(200, "GET", base+"/metadata", nil)
	c.must(200, "POST", base+"/cordon", nil, "fly-machine-lease-nonce", m.LeaseNonce)
	c.must(200, "POST", base+"/uncordon", nil, "fly-machine-lease-nonce", m.LeaseNonce)
	c.must(200, "POST", base+"/restart?timeout=2s", nil, "fly-machine-lease-nonce", m.LeaseNonce)
	c.wait(m.ID, "started")
	c.waitFor(m.ID, "checks passing after the restart", allPassing)
	c.must(200, "POST", base+"/signal", map[string]string{"signal": "SIGUSR1"})
	c.must(200, "POST", base+"/suspend", nil, "fly-machine-lease-nonce", m.LeaseNonce)
	c.wait(m.ID, "suspended")
	c.must(200, "DELETE", base+"/lease", nil, "fly-machine-lease-nonce", m.LeaseNonce)
	c.must(408, "GET", base+"/wait?state=started&timeout=1", nil)
	c.must(400, "GET", base+"/wait?state=started&timeout=90", nil)
	c.must(200, "DELETE", base, nil)
	c.must(200, "GET", base+"/wait?state=destroyed&timeout=10", nil)
	c.must(201, "POST", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", map[string]string{"value": "x"})
	c.must(200, "GET", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", nil)
	c.must(200, "POST", "/v1/apps/"+testApp+"/secrets", map[string]any{"values": map[string]any{"SECRET_KEY": nil}})
	c.must(200, "GET", "/v1/apps/"+testApp+"/secrets", nil)
	c.must(404, "DELETE", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", nil)
	c.must(202, "DELETE", "/v1/apps/contract-app", nil)

	ops := sim.Contract.Operations()
	want := []string{
		"GET /v1/apps", "POST /v1/apps", "GET /v1/apps/{app_name}", "DELETE /v1/apps/{app_name}",
		"GET /v1/apps/{app_name}/machines", "POST /v1/apps/{app_name}/machines",
		"GET /v1/apps/{app_name}/machines/{machine_id}", "POST /v1/apps/{app_name}/machines/{machine_id}",
		"DELETE /v1/apps/{app_name}/machines/{machine_id}",
		"GET /v1/apps/{app_name}/machines/{machine_id}/wait",
		"GET /v1/apps/{app_name}/machines/{machine_id}/lease", "POST /v1/apps/{app_name}/machines/{machine_id}/lease",
		"DELETE /v1/apps/{app_name}/machines/{machine_id}/lease",
		"GET /v1/apps/{app_name}/machines/{machine_id}/events", "GET /v1/apps/{app_name}/machines/{machine_id}/ps",
		"POST /v1/apps/{app_name}/machines/{machine_id}/exec", "GET /v1/apps/{app_name}/machines/{machine_id}/metadata",
		"PATCH /v1/apps/{app_name}/machines/{machine_id}/metadata",
		"GET /v1/apps/{app_name}/machines/{machine_id}/metadata/{key}", "POST /v1/apps/{app_name}/machines/{machine_id}/metadata/{key}",
		"POST /v1/apps/{app_name}/machines/{machine_id}/restart", "POST /v1/apps/{app_name}/machines/{machine_id}/signal",
		"POST /v1/apps/{app_name}/machines/{machine_id}/suspend", "POST /v1/apps/{app_name}/machines/{machine_id}/cordon",
		"POST /v1/apps/{app_name}/machines/{machine_id}/uncordon",
		"GET /v1/apps/{app_name}/secrets", "POST /v1/apps/{app_name}/secrets",
		"GET /v1/apps/{app_name}/secrets/{secret_name}", "POST /v1/apps/{app_name}/secrets/{secret_name}",
		"DELETE /v1/apps/{app_name}/secrets/{secret_name}",
	}
	for _, op := range want {
		if ops[op] == 0 {
			t.Errorf("operation %s was never validated", op)
		}
	}
	t.Logf("validated %d answers over %d operations", sim.Contract.Checked(), len(ops))
	// Requests that break the description are fly-go's (or this test's),
	// not the emulator's: list them for the record.
	var mismatches []string
	for _, v := range sim.Contract.RequestMismatches() {
		mismatches = append(mismatches, v.Method+" "+strings.SplitN(v.Path, "?", 2)[0]+": "+v.Err)
	}
	sort.Strings(mismatches)
	for _, s := range slices.Compact(mismatches) {
		t.Logf("request outside the description: %s", s)
	}
}
