package action

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/grupo-gad/deploy-action/internal/report"
)

func TestVerifyCommand(t *testing.T) {
	verifyDefaults.Interval = -1 // samples back to back
	verifyDefaults.Samples = 3
	t.Cleanup(func() { verifyDefaults.Interval, verifyDefaults.Samples = 0, 0 })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(`{"status":"ok"}`))
	}))
	defer srv.Close()

	res, err := Verify(context.Background(), &Request{Inputs: Inputs{HealthURL: srv.URL + "/health"}, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Command != "verify" || res.Report.Conclusion != report.Success || res.URL != srv.URL {
		t.Errorf("verify: command %q conclusion %q url %q", res.Report.Command, res.Report.Conclusion, res.URL)
	}
	if _, err := Verify(context.Background(), &Request{Log: io.Discard}); err == nil {
		t.Errorf("verify without a URL or app ran")
	}
}
