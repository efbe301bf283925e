package flysimtest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/flysim/flysimtest"
)

// TestContractCatchesViolations shows the validator is not vacuous: answers
// that break the description are reported, good ones are not.
func TestContractCatchesViolations(t *testing.T) {
	c, err := flysimtest.LoadContract(flysimtest.SpecPath(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		method string
		path   string
		status int
		body   string
		want   string // "" when the answer is valid
	}{
		{"valid machine", "GET", "/v1/apps/a/machines/m", 200, `{"id":"m","state":"started","events":[{"type":"start","timestamp":1}]}`, ""},
		{"state is a number", "GET", "/v1/apps/a/machines/m", 200, `{"id":"m","state":3}`, "state"},
		{"bad restart policy", "GET", "/v1/apps/a/machines/m", 200, `{"id":"m","config":{"restart":{"policy":"sometimes"}}}`, "policy"},
		{"autostop as boolean", "GET", "/v1/apps/a/machines/m", 200, `{"id":"m","config":{"services":[{"autostop":false}]}}`, "autostop"},
		{"undocumented 404 with a Fly body", "GET", "/v1/apps/a", 404, `{"error":"app not found"}`, ""},
		{"undocumented 409 without error", "POST", "/v1/apps/a/machines/m/lease", 409, `{"message":"held"}`, `no "error"`},
		{"bad error status enum", "POST", "/v1/apps", 422, `{"error":"taken","status":"nope"}`, "status"},
		{"unknown operation", "GET", "/v1/nothing/here", 200, `{}`, "no operation"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(c.Violations())
			h := c.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			req := httptest.NewRequest(tt.method, tt.path, nil)
			h.ServeHTTP(httptest.NewRecorder(), req)
			got := c.Violations()[before:]
			switch {
			case tt.want == "" && len(got) > 0:
				t.Errorf("valid answer reported: %v", got)
			case tt.want != "" && (len(got) != 1 || !strings.Contains(got[0].Err, tt.want)):
				t.Errorf("violations %v, want one mentioning %q", got, tt.want)
			}
		})
	}
}
