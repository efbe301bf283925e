package flysim_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	fly "github.com/superfly/fly-go"
)

func TestLaunchThreeMachinesGetOwnPortsAndPassingChecks(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	var ids []string
	for range 3 {
		m := c.launch(appConfig(goodImage))
		if m.State != fly.MachineStateCreated || len(m.ID) != 14 || len(m.InstanceID) != 26 {
			t.Errorf("launch answer: state %q id %q version %q, want created, 14-hex id, 26-char version", m.State, m.ID, m.InstanceID)
		}
		ids = append(ids, m.ID)
	}
	ports := map[int]bool{}
	addrs := map[string]bool{}
	for _, id := range ids {
		c.wait(id, "started")
		m := c.waitFor(id, "all checks passing", allPassing)
		if got := m.Checks[0].Name; got != "servicecheck-00-http-8080" {
			t.Errorf("check name %q, want servicecheck-00-http-8080", got)
		}
		if !strings.Contains(m.Checks[0].Output, "200 OK") {
			t.Errorf("check output %q, want the probe's 200 OK", m.Checks[0].Output)
		}
	}
	for _, info := range sim.Machines(testApp) {
		hp := info.Ports[8080]
		if hp == 0 || ports[hp] {
			t.Errorf("machine %s: host port for 8080 is %d (taken: %v)", info.ID, hp, ports)
		}
		ports[hp] = true
		addrs[info.Addr] = true
		// The app really answers on the machine's address and port.
		resp, err := http.Get(fmt.Sprintf("http://%s:%d/health", info.Addr, hp))
		if err != nil {
			t.Fatalf("GET /health of %s: %v", info.ID, err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if body["status"] != "ok" || body["image"] != "good" || body["machine"] != info.ID {
			t.Errorf("/health of %s = %v", info.ID, body)
		}
		// ps shows the socket as the app sees it inside the machine.
		var ps fly.MachinePsResponse
		c.must(200, "GET", "/v1/apps/"+testApp+"/machines/"+info.ID+"/ps", nil).decode(t, &ps)
		found := false
		for _, p := range ps {
			for _, s := range p.ListenSockets {
				if strings.HasSuffix(s.Address, ":8080") {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("ps of %s shows no socket on :8080: %+v", info.ID, ps)
		}
	}
	if len(addrs) != 3 && addrs["127.0.0.1"] == false {
		t.Errorf("machines share addresses: %v", addrs)
	}

	// The app's public endpoint balances over the healthy machines.
	edge, err := sim.AppURL(testApp)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 6 {
		resp, err := http.Get(edge + "/health")
		if err != nil {
			t.Fatal(err)
		}
		var body map[string]string
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		seen[body["machine"]] = true
	}
	if len(seen) != 3 {
		t.Errorf("edge reached machines %v, want all 3", seen)
	}

	// List hides nothing alive and honours the region filter.
	var list []fly.Machine
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines?region=gru", nil).decode(t, &list)
	if len(list) != 3 {
		t.Errorf("list: %d machines, want 3", len(list))
	}
	c.must(200, "GET", "/v1/apps/"+testApp+"/machines?region=ams", nil).decode(t, &list)
	if len(list) != 0 {
		t.Errorf("list region=ams: %d machines, want 0", len(list))
	}
}

func TestMachineEnvironment(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	c.must(201, "POST", "/v1/apps/"+testApp+"/secrets/DATABASE_URL", map[string]string{"value": "postgresql+asyncpg://u:p@db/app"})
	cfg := appConfig(goodImage)
	cfg.Env["RELEASE_COMMAND"] = "1"
	m := c.launch(cfg)
	c.wait(m.ID, "started")
	script := `test "$DATABASE_URL" = "postgresql+asyncpg://u:p@db/app" && echo secret-ok; ` +
		`echo "$FLY_APP_NAME $FLY_MACHINE_ID $FLY_REGION $RELEASE_COMMAND $APP_ENV $FLY_IMAGE_REF"; echo "port=$PORT"`
	var out fly.MachineExecResponse
	c.must(200, "POST", "/v1/apps/"+testApp+"/machines/"+m.ID+"/exec", fly.MachineExecRequest{Cmd: script}).decode(t, &out)
	want := fmt.Sprintf("%s %s gru 1 production %s", testApp, m.ID, goodImage)
	if !strings.Contains(out.StdOut, "secret-ok") || !strings.Contains(out.StdOut, want) {
		t.Errorf("machine env: %q, want secret-ok and %q", out.StdOut, want)
	}
	info := sim.Machines(testApp)[0]
	if !strings.Contains(out.StdOut, fmt.Sprintf("port=%d", info.Ports[8080])) {
		t.Errorf("PORT in %q is not the host port %d standing for 8080", out.StdOut, info.Ports[8080])
	}
}

func TestSecretsAreNamesAndDigestsOnly(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	const value = "s3cr3t-value-that-must-not-leak"
	r := c.must(201, "POST", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", map[string]string{"value": value})
	var set fly.SetAppSecretResp
	r.decode(t, &set)
	if set.Name != "SECRET_KEY" || set.Digest == "" || set.Value != nil || set.Version == 0 {
		t.Errorf("set answer %s", r.body)
	}
	v2 := "another-secret-value"
	c.must(200, "POST", "/v1/apps/"+testApp+"/secrets", fly.UpdateAppSecretsRequest{Values: map[string]*string{"JWT_SECRET_KEY": &v2}})
	for _, path := range []string{"/secrets", "/secrets?show_secrets=true", "/secrets/SECRET_KEY?show_secrets=true"} {
		r := c.must(200, "GET", "/v1/apps/"+testApp+path, nil)
		if strings.Contains(string(r.body), value) || strings.Contains(string(r.body), v2) || strings.Contains(string(r.body), `"value"`) {
			t.Errorf("GET %s returned a secret value: %s", path, r.body)
		}
	}
	var list fly.ListAppSecretsResp
	c.must(200, "GET", "/v1/apps/"+testApp+"/secrets", nil).decode(t, &list)
	if len(list.Secrets) != 2 || list.Secrets[0].Name != "JWT_SECRET_KEY" || list.Secrets[1].Name != "SECRET_KEY" {
		t.Errorf("secrets %+v, want JWT_SECRET_KEY and SECRET_KEY", list.Secrets)
	}
	c.must(200, "DELETE", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", nil)
	if r := c.do("DELETE", "/v1/apps/"+testApp+"/secrets/SECRET_KEY", nil); r.status != 404 {
		t.Errorf("deleting a missing secret: %d, want 404", r.status)
	}
	if r := c.do("POST", "/v1/apps/"+testApp+"/secrets/bad-name", map[string]string{"value": "x"}); r.status != 400 {
		t.Errorf("invalid secret name: %d, want 400", r.status)
	}
	for _, l := range sim.Logs(testApp, "") {
		if strings.Contains(l.Message, value) {
			t.Errorf("a log line carries the secret: %q", l.Message)
		}
	}
}

func TestAppsEndpoints(t *testing.T) {
	sim := newSim(t, nil)
	c := api{t, sim.URL}
	var a map[string]any
	c.must(200, "GET", "/v1/apps/"+testApp, nil).decode(t, &a)
	if a["name"] != testApp || a["status"] != "pending" {
		t.Errorf("app %v", a)
	}
	if r := c.do("GET", "/v1/apps/nope", nil); r.status != 404 || r.errorText() != "app not found" {
		t.Errorf("unknown app: %d %s, want 404 app not found (fly-go compares the text)", r.status, r.body)
	}
	c.must(201, "POST", "/v1/apps?wait=true", map[string]string{"name": "second", "org_slug": "personal"})
	if r := c.do("POST", "/v1/apps", map[string]string{"name": "second", "org_slug": "personal"}); r.status != 422 {
		t.Errorf("taken name: %d, want 422", r.status)
	}
	var list struct {
		Apps []map[string]any `json:"apps"`
	}
	c.must(200, "GET", "/v1/apps?org_slug=personal", nil).decode(t, &list)
	if len(list.Apps) != 2 {
		t.Errorf("apps %v", list.Apps)
	}
	c.must(202, "DELETE", "/v1/apps/second", nil)
	if r := c.do("GET", "/v1/apps/"+testApp+"/machines/0123456789abcd", nil); r.status != 404 {
		t.Errorf("unknown machine: %d", r.status)
	}
	r := c.do("POST", "/v1/apps/"+testApp+"/machines", fly.LaunchMachineInput{Config: appConfig("registry.fly.io/unknown:tag")})
	if r.status != 400 || !strings.Contains(r.errorText(), "registry.fly.io/unknown:tag") {
		t.Errorf("unknown image: %d %s, want 400 naming the image", r.status, r.body)
	}
	_ = io.Discard
}
