package rules

import (
	"strings"
	"testing"
)

func TestRuntimeBindLocalhost(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"ipv6 loopback", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD ["hypercorn", "app:app", "--bind", "[::1]:8080"]`)}, "Dockerfile:4 error"},
		{"127.0.0.2 is loopback too", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD granian --host 127.0.0.2 --port 8080 app:app`)}, "Dockerfile:4 error"},
		{"every interface in IPv6", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD ["uvicorn", "app:app", "--host", "::", "--port", "8080"]`)}, ""},
		{"unknown host", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD uvicorn app:app --host $HOST --port 8080`)}, ""},
		{"fastapi dev", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD ["fastapi", "dev", "--port", "8080"]`)}, "Dockerfile:4 error"},
		{"runserver in a process", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  app = \"python manage.py runserver 8080\"\n\n[http_service]\n  internal_port = 8080\n",
			"Dockerfile": dockerfileWith(`CMD ["true"]`)}, "fly.toml:4 error"},
		{"no service routes to it", map[string]string{"fly.toml": "app = \"demo\"\n", "Dockerfile": dockerfileWith(`CMD ["uvicorn", "app:app"]`)}, ""},
		{"public server in front of a local one", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD uvicorn api:app --port 9000 & exec gunicorn web:app -b 0.0.0.0:8080`)}, ""},
		{"gunicorn default behind a base image that may set PORT", map[string]string{"fly.toml": testFly, "Dockerfile": "FROM ghcr.io/acme/python-web:1\nCMD [\"gunicorn\", \"app:app\"]\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "runtime-bind-localhost", tt.files)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimeBindLocalhostCorpus checks the corpus repository that runs
// uvicorn with no --host: the finding stands on the server word and says
// what to change.
func TestRuntimeBindLocalhostCorpus(t *testing.T) {
	p := corpusRepo(t, "Andrewwango/open-set-resnet", "api/fly.toml")
	fs := runOne(Lookup("runtime-bind-localhost"), p)
	if len(fs) != 1 {
		t.Fatalf("got %d findings, want 1: %+v", len(fs), fs)
	}
	f := fs[0]
	if f.Location.String() != "api/Dockerfile:9:7" {
		t.Errorf("at %s, want api/Dockerfile:9:7 (the uvicorn word)", f.Location)
	}
	for _, want := range []string{"127.0.0.1:8000", "internal_port 8080"} {
		if !strings.Contains(f.Message, want) {
			t.Errorf("message lacks %q: %s", want, f.Message)
		}
	}
	if !strings.Contains(f.Fix, "--host 0.0.0.0 --port 8080") {
		t.Errorf("fix does not give the flags: %s", f.Fix)
	}
}
