package rules

import (
	"strings"
	"testing"
)

func TestRuntimePortMismatch(t *testing.T) {
	svc := "app = \"demo\"\n\n[[services]]\n  internal_port = 8080\n  protocol = \"%s\"\n\n  [[services.ports]]\n    port = 443\n    handlers = [\"tls\", \"http\"]\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"udp service is not the server's", map[string]string{"fly.toml": strings.ReplaceAll(svc, "%s", "udp"), "Dockerfile": dockerfileWith(`CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]`)}, ""},
		{"tcp service", map[string]string{"fly.toml": strings.ReplaceAll(svc, "%s", "tcp"), "Dockerfile": dockerfileWith(`CMD ["uvicorn", "app:app", "--host", "0.0.0.0"]`)}, "fly.toml:4 error"},
		{"one of several binds matches", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD gunicorn app:app -b 127.0.0.1:9000 -b 0.0.0.0:8080`)}, ""},
		{"unix socket behind something", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD gunicorn app:app -b unix:/tmp/g.sock`)}, ""},
		{"nginx fronts the app", map[string]string{"fly.toml": testFly, "Dockerfile": dockerfileWith(`CMD nginx; gunicorn app:app -b 0.0.0.0:8000`)}, ""},
		{"gunicorn PORT default", map[string]string{"fly.toml": testFly + "\n[env]\n  PORT = \"5000\"\n", "Dockerfile": dockerfileWith(`CMD ["gunicorn", "app:app"]`)}, "fly.toml:4 error"},
		{"port from a Python script", map[string]string{
			"fly.toml":   testFly,
			"Dockerfile": dockerfileWith(`CMD ["python", "-u", "serve.py"]`),
			"serve.py":   "import uvicorn\n\nuvicorn.run(\"app:app\", host=\"0.0.0.0\", port=8000)\n"}, "fly.toml:4 error"},
		{"port of a script from the environment", map[string]string{
			"fly.toml":   testFly + "\n[env]\n  PORT = \"8080\"\n",
			"Dockerfile": dockerfileWith(`CMD ["python", "serve.py"]`),
			"serve.py":   "import os, uvicorn\n\nuvicorn.run(\"app:app\", host=\"0.0.0.0\", port=int(os.getenv(\"PORT\", \"8000\")))\n"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "runtime-port-mismatch", tt.files)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimePortMismatchCorpus checks the corpus repository whose uvicorn
// listens on its default port 8000 behind internal_port 8080.
func TestRuntimePortMismatchCorpus(t *testing.T) {
	p := corpusRepo(t, "Andrewwango/open-set-resnet", "api/fly.toml")
	fs := runOne(Lookup("runtime-port-mismatch"), p)
	if len(fs) != 1 || fs[0].Location.String() != "api/fly.toml:15:3" {
		t.Fatalf("want one finding at api/fly.toml:15:3 (internal_port), got %+v", fs)
	}
	for _, want := range []string{"api/Dockerfile:9", "8000", "internal_port 8080"} {
		if !strings.Contains(fs[0].Message, want) {
			t.Errorf("message lacks %q: %s", want, fs[0].Message)
		}
	}
}
