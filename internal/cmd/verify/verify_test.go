package verify_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/cmd/cmdutil"
	"github.com/grupo-gad/deploy-action/internal/cmd/root"
	"github.com/grupo-gad/deploy-action/internal/cmd/verify"
	"github.com/grupo-gad/deploy-action/internal/report"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = root.Main(cmdutil.IO{In: strings.NewReader(""), Out: &out, Err: &errb}, args)
	return code, out.String(), errb.String()
}

func TestCLI(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","checks":{"db":"ok"}}`)
	}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the untrusted case fails handshakes on purpose
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(t.TempDir(), "x.pem")
	os.WriteFile(notPEM, []byte("nope"), 0o600)

	fast := []string{"--samples", "3", "--interval", "0"}
	tests := []struct {
		name     string
		args     []string
		code     int
		inStdout []string
		inStderr string
	}{
		{"help", []string{"verify", "--help"}, 0, []string{"Exit status", "--expect-json"}, ""},
		{"listed in usage", []string{"help"}, 0, []string{"deploy-action verify --url URL"}, ""},
		{"healthy text", append([]string{"verify", "--url", ok.URL + "/health", "--expect-json", "status=ok", "--expect-json", "checks.db=ok"}, fast...), 0,
			[]string{"✓ verify passed", "3 of 3 samples passed", "p95"}, "sample 3/3: 200 in"},
		{"URL as argument", append([]string{"verify", ok.URL}, fast...), 0, []string{"3 of 3 samples passed"}, ""},
		{"wrong JSON value", append([]string{"verify", "--url", ok.URL, "--expect-json", "status=green"}, fast...), 1,
			[]string{"✗ verify failed", `status is "ok", want "green"`, "[verify-json]"}, "✗ status is"},
		{"503 github", append([]string{"verify", "--url", down.URL, "--format", "github"}, fast...), 1,
			[]string{"::error title=", "503 Service Unavailable", "::notice title=Health%3A 0/3 samples passed"}, ""},
		{"503 json", append([]string{"verify", "--url", down.URL, "--format", "json"}, fast...), 1,
			[]string{`"command": "verify"`, `"name": "verify"`, `"status": "failed"`, `"rule": "verify-status"`}, ""},
		{"untrusted TLS", append([]string{"verify", "--url", tlsSrv.URL}, fast...), 1, []string{"self-signed"}, ""},
		{"--cacert", append([]string{"verify", "--url", tlsSrv.URL, "--cacert", ca}, fast...), 0, []string{"is valid until", "days)"}, ""},
		{"missing url", []string{"verify"}, 2, nil, "--url is required"},
		{"bad scheme", []string{"verify", "--url", "ftp://x/health"}, 2, nil, "scheme must be http or https"},
		{"bad websocket", []string{"verify", "--url", ok.URL, "--websocket", "http://x/ws"}, 2, nil, "scheme must be ws or wss"},
		{"bad expect-json", []string{"verify", "--url", ok.URL, "--expect-json", "=ok"}, 2, nil, "want KEY=VALUE"},
		{"bad samples", []string{"verify", "--url", ok.URL, "--samples", "0"}, 2, nil, "--samples 0"},
		{"bad status", []string{"verify", "--url", ok.URL, "--expect-status", "42"}, 2, nil, "--expect-status 42"},
		{"negative interval", []string{"verify", "--url", ok.URL, "--interval", "-1s"}, 2, nil, "must not be negative"},
		{"bad timeout", []string{"verify", "--url", ok.URL, "--timeout", "0s"}, 2, nil, "--timeout 0s"},
		{"bad max-p95", []string{"verify", "--url", ok.URL, "--max-p95", "fast"}, 2, nil, "invalid value"},
		{"bad format", []string{"verify", "--url", ok.URL, "--format", "xml"}, 2, nil, `unknown --format "xml"`},
		{"two URLs", []string{"verify", ok.URL, down.URL}, 2, nil, "one URL"},
		{"missing cacert", []string{"verify", "--url", ok.URL, "--cacert", "/nonexistent.pem"}, 2, nil, "--cacert"},
		{"cacert not PEM", []string{"verify", "--url", ok.URL, "--cacert", notPEM}, 2, nil, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			for _, want := range tt.inStdout {
				if !strings.Contains(out, want) {
					t.Errorf("stdout lacks %q:\n%s", want, out)
				}
			}
			if !strings.Contains(errOut, tt.inStderr) {
				t.Errorf("stderr lacks %q:\n%s", tt.inStderr, errOut)
			}
		})
	}
}

func TestJSONReportReadsBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }))
	defer srv.Close()
	code, out, errOut := run(t, "verify", "--url", srv.URL, "--samples", "2", "--interval", "0", "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rep, err := report.ReadJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Command != "verify" || rep.Conclusion != report.Success || len(rep.Phases) != 1 || rep.Phases[0].Name != report.Verify {
		t.Fatalf("report %+v", rep)
	}
	if f := rep.Phases[0].Findings; len(f) != 1 || f[0].Rule != "verify-figures" || !strings.Contains(f[0].Message, "p50") {
		t.Errorf("findings %+v", f)
	}
}

func TestInterrupted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{}`) }))
	defer srv.Close()
	var out, errb bytes.Buffer
	opts, err := verify.NewOptions(cmdutil.IO{Out: &out, Err: &errb}, []string{"--url", srv.URL, "--samples", "5", "--interval", "1h"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	code, err := verify.Run(ctx, opts)
	if err != nil || code != cmdutil.ExitFindings {
		t.Fatalf("Run = %d, %v; want 1", code, err)
	}
	if !strings.Contains(out.String(), "stopped after 1 of 5 samples") || !strings.Contains(errb.String(), "deadline exceeded") {
		t.Errorf("stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
}
