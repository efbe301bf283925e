package rules

import "testing"

func TestNetworkingNoService(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"worker script only", map[string]string{"fly.toml": "app = \"demo\"\n", "Dockerfile": dockerfileWith(`CMD ["python", "-m", "app.worker"]`)}, ""},
		{"services for every group", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  web = \"uvicorn app:app --host 0.0.0.0 --port 8080\"\n  api = \"uvicorn api:app --host 0.0.0.0 --port 9000\"\n\n[http_service]\n  internal_port = 8080\n  processes = [\"web\"]\n\n[[services]]\n  internal_port = 9000\n  processes = [\"api\"]\n  protocol = \"tcp\"\n\n  [[services.ports]]\n    port = 9000\n",
			"Dockerfile": dockerfileWith(`CMD ["true"]`)}, ""},
		{"default group is the first by name", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  web = \"uvicorn app:app --host 0.0.0.0 --port 8080\"\n  admin = \"uvicorn admin:app --host 0.0.0.0 --port 8080\"\n\n[http_service]\n  internal_port = 8080\n",
			"Dockerfile": dockerfileWith(`CMD ["true"]`)}, "fly.toml:4 warning"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "networking-no-service", tt.files)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
