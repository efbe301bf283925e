package simapp

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestRelease(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		lines   []string
		missing string
	}{
		{"success", []string{"alembic", "upgrade", "head"}, 0,
			[]string{"INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.", "Running upgrade  -> 3f2a9c1d7b4e"}, "Traceback"},
		{"duplicate column", []string{"-release-exit-code", "1", "alembic", "upgrade", "head"}, 1,
			[]string{`asyncpg.exceptions.DuplicateColumnError: column "email" of relation "users" already exists`}, ""},
		{"missing DATABASE_URL", []string{"-release-exit-code", "1", "-release-failure", FailNoDatabaseURL, "/usr/local/bin/alembic", "upgrade", "head"}, 1,
			[]string{"KeyError: 'DATABASE_URL'", `File "/app/alembic/env.py"`}, ""},
		{"no script_location", []string{"-release-exit-code", "2", "-release-failure", FailScriptLocation, "alembic", "upgrade", "head"}, 2,
			[]string{"FAILED: No 'script_location' key found in configuration."}, "Context impl"},
		{"module not found", []string{"-release-exit-code", "1", "-release-failure", FailModuleNotFound, "alembic", "upgrade", "head"}, 1,
			[]string{"ModuleNotFoundError: No module named 'app'"}, ""},
		{"multiple heads", []string{"-release-exit-code", "1", "-release-failure", FailMultipleHeads, "alembic", "upgrade", "head"}, 1,
			[]string{"Multiple head revisions are present"}, ""},
		{"postgres scheme", []string{"-release-exit-code", "1", "-release-failure", FailPostgresScheme, "alembic", "upgrade", "head"}, 1,
			[]string{"Can't load plugin: sqlalchemy.dialects:postgres"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tt.args, &out, &errOut); code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			for _, l := range tt.lines {
				if !strings.Contains(errOut.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, errOut.String())
				}
			}
			if tt.missing != "" && strings.Contains(errOut.String(), tt.missing) {
				t.Errorf("output has %q:\n%s", tt.missing, errOut.String())
			}
		})
	}
}

func TestCrashBeforeListening(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-crash-exit-code", "3", "-port", "0"}, &out, &errOut); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if !strings.Contains(errOut.String(), "Error loading ASGI app") {
		t.Errorf("output:\n%s", errOut.String())
	}
}

func TestCrashAfterServing(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run([]string{"-crash-exit-code", "4", "-crash-after", "200ms", "-port", "0", "-bind", "127.0.0.1"}, &out, &errOut)
	if code != 4 {
		t.Errorf("exit code %d, want 4", code)
	}
	for _, l := range []string{"Uvicorn running on http://127.0.0.1:0", "RuntimeError: simapp crash injected after 200ms"} {
		if !strings.Contains(errOut.String(), l) {
			t.Errorf("output lacks %q:\n%s", l, errOut.String())
		}
	}
}

func TestFaultsEnvRoundTrip(t *testing.T) {
	f := Faults{
		CrashExitCode: 3, CrashAfter: time.Second, OOM: true, OOMAfter: 2 * time.Second,
		ListenDelay: 3 * time.Second, Bind: "127.0.0.1", Health5xx: 2, HealthStatus: 500, IgnoreStop: true,
		ReleaseExitCode: 1, ReleaseFailure: FailMultipleHeads, ReleaseDelay: time.Second, Label: "v2",
	}
	for k, v := range f.Env() {
		t.Setenv(k, v)
	}
	cfg, rest, err := parse([]string{"-health-5xx", "7", "uvicorn", "app.main:app"}, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	want := f
	want.Health5xx = 7 // a flag overrides the environment
	if cfg.Faults != want {
		t.Errorf("parsed %+v\nwant   %+v", cfg.Faults, want)
	}
	if len(rest) != 2 || rest[0] != "uvicorn" {
		t.Errorf("command %v", rest)
	}
	if len((Faults{}).Env()) != 0 {
		t.Errorf("zero Faults set %v", (Faults{}).Env())
	}
}

func TestHealthHandler(t *testing.T) {
	tests := []struct {
		name  string
		f     Faults
		codes []int
	}{
		{"healthy", Faults{}, []int{200, 200}},
		{"5xx burst", Faults{Health5xx: 2}, []int{503, 503, 200}},
		{"always failing", Faults{HealthStatus: 500}, []int{500, 500, 500}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			h := handler(config{Faults: tt.f}, newSyncWriter(&out))
			for i, want := range tt.codes {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/health", nil))
				if rec.Code != want {
					t.Errorf("request %d: %d, want %d", i+1, rec.Code, want)
				}
			}
			if !strings.Contains(out.String(), `"GET /health HTTP/1.1"`) {
				t.Errorf("no access log:\n%s", out.String())
			}
		})
	}
	rec := httptest.NewRecorder()
	handler(config{}, newSyncWriter(&bytes.Buffer{})).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/echo", strings.NewReader("ping")))
	if rec.Body.String() != "ping" {
		t.Errorf("echo %q", rec.Body.String())
	}
}
