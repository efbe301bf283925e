package rules

import (
	"strings"
	"testing"
)

func TestRuntimeMemory(t *testing.T) {
	vm := func(lines string) string { return testFly + "\n[[vm]]\n" + lines + "\n" }
	gunicorn := func(workers string) string {
		return dockerfileWith(`CMD ["gunicorn", "app:app", "--bind", "0.0.0.0:8080", "--workers", "` + workers + `"]`)
	}
	sqla := "sqlalchemy==2.0.35\n"
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		// 40 + 20 + 3 × 60 = 240 MB ≤ 256 MB.
		{"3 workers without a database fit", map[string]string{"fly.toml": vm(`  memory = "256mb"`), "Dockerfile": gunicorn("3")}, ""},
		// 40 + 20 + 4 × 60 = 300 MB > 256 MB.
		{"4 workers do not", map[string]string{"fly.toml": vm(`  memory = "256mb"`), "Dockerfile": gunicorn("4")}, "fly.toml:7 warning"},
		// 40 + 20 + 2 × 60 + 2 × 15 × 2 = 240 MB.
		{"SQLAlchemy defaults", map[string]string{"fly.toml": vm(`  memory_mb = 256`), "Dockerfile": gunicorn("2"), "requirements.txt": sqla}, ""},
		{"asyncpg pool max_size", map[string]string{
			"fly.toml": vm(`  memory = "256mb"`), "Dockerfile": gunicorn("2"),
			"app/db.py": "import os\nimport asyncpg\n\nasync def pool():\n    return await asyncpg.create_pool(dsn=os.environ[\"DATABASE_URL\"], min_size=10, max_size=50)\n"}, "fly.toml:7 warning"},
		{"pool size from the environment", map[string]string{
			"fly.toml":   vm(`  memory = "512mb"`) + "\n[env]\n  DB_POOL_SIZE = \"40\"\n",
			"Dockerfile": gunicorn("4"),
			"app/db.py":  "import os\nfrom sqlalchemy import create_engine\n\nengine = create_engine(os.environ[\"DATABASE_URL\"], pool_size=int(os.getenv(\"DB_POOL_SIZE\", \"5\")), max_overflow=0)\n"}, "fly.toml:7 warning"},
		{"performance preset", map[string]string{"fly.toml": vm(`  size = "performance-1x"`), "Dockerfile": gunicorn("16")}, ""},
		{"shared-cpu-2x preset", map[string]string{"fly.toml": vm(`  size = "shared-cpu-2x"`), "Dockerfile": gunicorn("8")}, "fly.toml:7 warning"},
		{"GPU preset", map[string]string{"fly.toml": vm(`  size = "a100-40gb"`), "Dockerfile": gunicorn("16")}, ""},
		{"unknown worker count", map[string]string{"fly.toml": vm(`  memory = "256mb"`), "Dockerfile": dockerfileWith(`CMD gunicorn app:app -b 0.0.0.0:8080 -w $(nproc)`)}, ""},
		{"vm for another group", map[string]string{
			"fly.toml":   "app = \"demo\"\n\n[processes]\n  web = \"gunicorn app:app -b 0.0.0.0:8080 -w 6\"\n  worker = \"celery -A app worker\"\n\n[[vm]]\n  memory = \"2gb\"\n  processes = [\"web\"]\n\n[[vm]]\n  memory = \"256mb\"\n  processes = [\"worker\"]\n",
			"Dockerfile": dockerfileWith(`CMD ["true"]`)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := at(runRuleFiles(t, "runtime-memory", tt.files)); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRuntimeMemoryExample checks the broken example: 8 gunicorn workers
// with pools of 20 + 10 on 256 MB. The message shows the whole estimate.
func TestRuntimeMemoryExample(t *testing.T) {
	p := loadExample(t, "broken/runtime-oom")
	fs := runOne(Lookup("runtime-memory"), p)
	if len(fs) != 1 || fs[0].Location.String() != "fly.toml:19:3" {
		t.Fatalf("want one finding at fly.toml:19:3, got %+v", fs)
	}
	for _, want := range []string{"8 worker(s)", "--workers 8", "pool_size 20 + max_overflow 10", "1020 MB", "256 MB", "240 PostgreSQL connections"} {
		if !strings.Contains(fs[0].Message, want) {
			t.Errorf("message lacks %q: %s", want, fs[0].Message)
		}
	}
}
