package diagnose

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// normalLines are lines of healthy output, in the formats a deploy log
// mixes: flyctl, BuildKit, pip, the Fly proxy and init, uvicorn, gunicorn,
// Alembic and an app's own JSON logs.
var normalLines = []string{
	`==> Verifying app config`,
	`--> Verified app config`,
	`#7 12.31 Collecting fastapi==0.115.0 (from -r requirements.txt (line 1))`,
	`#7 12.48   Downloading fastapi-0.115.0-py3-none-any.whl.metadata (27 kB)`,
	`#7 19.02 Successfully installed anyio-4.6.0 fastapi-0.115.0 pydantic-2.9.2 starlette-0.38.6 uvicorn-0.31.0`,
	` => [builder 4/6] RUN pip install -r requirements.txt                                  21.3s`,
	` => CACHED [stage-1 3/5] COPY --from=builder /opt/venv /opt/venv                      0.0s`,
	`2024-06-01T10:15:32Z app[148e272b0d3389] mad [info]INFO:     10.0.0.1:51234 - "GET /health HTTP/1.1" 200 OK`,
	`2024-06-01T10:15:33Z app[148e272b0d3389] mad [info]INFO:     172.16.4.2:40112 - "POST /api/v1/incidents HTTP/1.1" 201 Created`,
	`2024-06-01T10:15:33Z proxy[148e272b0d3389] mad [info]machine started in 612.48ms`,
	`2024-06-01T10:15:34Z app[148e272b0d3389] mad [info]{"level":"info","msg":"request handled","path":"/api/v1/users/42","status":200,"duration_ms":12.7}`,
	`2024-06-01T10:15:35Z app[148e272b0d3389] mad [info][2024-06-01 10:15:35 +0000] [642] [INFO] Waiting for application startup.`,
	`2024-06-01T10:15:36Z health[148e272b0d3389] mad [info]Health check on port 8080 is now passing.`,
	`INFO  [alembic.runtime.migration] Context impl PostgresqlImpl.`,
	`INFO  [alembic.runtime.migration] Will assume transactional DDL.`,
	`  [1/2] Machine 148e272b0d3389 [app] update finished: success`,
	`Visit your newly deployed app at https://grupo-gad.fly.dev/`,
	`2024-06-01T10:15:37Z app[148e272b0d3389] mad [info]{"level":"warning","msg":"slow query","sql":"SELECT id, title FROM incidents WHERE status = $1","ms":240}`,
	`2024-06-01T10:15:38Z app[148e272b0d3389] mad [info]INFO:     10.0.0.7:33120 - "GET /ws/updates HTTP/1.1" 101 Switching Protocols`,
	`#9 DONE 0.4s`,
}

// corpusLines returns the lines of every labelled corpus log, one slice per
// file.
func corpusLines(tb testing.TB) [][]string {
	tb.Helper()
	dir := testutil.CorpusDir(tb, "logs")
	files, err := filepath.Glob(filepath.Join(dir, "*.log"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no corpus logs in %s: %v", dir, err)
	}
	var out [][]string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, splitLines(data))
	}
	return out
}

func splitLines(data []byte) []string {
	var out []string
	for _, l := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
		out = append(out, string(l))
	}
	return out
}

// bigLog builds a log of about size bytes: normal output with one corpus
// excerpt every ~200 lines, in a fixed pseudo-random order.
func bigLog(tb testing.TB, size int) []byte {
	tb.Helper()
	excerpts := corpusLines(tb)
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	b.Grow(size + 4096)
	for b.Len() < size {
		if r.IntN(200) == 0 {
			for _, l := range excerpts[r.IntN(len(excerpts))] {
				b.WriteString(l)
				b.WriteByte('\n')
			}
			continue
		}
		b.WriteString(normalLines[r.IntN(len(normalLines))])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

var (
	benchOnce sync.Once
	benchLog  []byte
)

// BenchmarkReader measures diagnosis throughput on a 100 MB log of corpus
// failure lines mixed with normal output (about one excerpt per 200 lines).
func BenchmarkReader(b *testing.B) {
	benchOnce.Do(func() { benchLog = bigLog(b, 100<<20) })
	d := New(Options{})
	b.SetBytes(int64(len(benchLog)))
	var res Result
	cpu := cpuTime()
	for b.Loop() {
		var err error
		res, err = d.Reader(bytes.NewReader(benchLog))
		if err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpuTime()-cpu, len(benchLog))
	b.ReportMetric(float64(len(res.Findings)), "findings")
}

// reportCPU reports the throughput per second of CPU time, a figure that
// holds on a machine shared with other work, where wall-clock MB/s does
// not.
func reportCPU(b *testing.B, cpu time.Duration, size int) {
	if cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "MB/cpu-s")
	}
}

// BenchmarkReaderClean measures the cost of a log without any failure line.
func BenchmarkReaderClean(b *testing.B) {
	var buf bytes.Buffer
	for buf.Len() < 32<<20 {
		for _, l := range normalLines {
			buf.WriteString(l)
			buf.WriteByte('\n')
		}
	}
	data := buf.Bytes()
	d := New(Options{})
	b.SetBytes(int64(len(data)))
	cpu := cpuTime()
	for b.Loop() {
		if _, err := d.Reader(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpuTime()-cpu, len(data))
}
