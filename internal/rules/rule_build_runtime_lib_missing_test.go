package rules

import (
	"strings"
	"testing"
)

func TestBuildRuntimeLibMissingCases(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
		says  string
	}{
		{
			name: "apt purge --auto-remove takes libpq5 away",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN apt-get update && apt-get install -y gcc libpq-dev \\\n    && pip install -r requirements.txt \\\n    && apt-get purge -y --auto-remove gcc libpq-dev\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
			want: "Dockerfile:5 error", says: "libpq5",
		},
		{
			name: "apt purge then autoremove in a later RUN",
			files: map[string]string{
				"Dockerfile":       "FROM python:3.12-slim\nCOPY requirements.txt .\nRUN apt-get update && apt-get install -y gcc libpq-dev && pip install -r requirements.txt\nRUN apt-get purge -y libpq-dev\nRUN apt-get autoremove -y\n",
				"requirements.txt": "psycopg2==2.9.9\n",
			},
			want: "Dockerfile:4 error",
		},
		{
			name: "Alpine keeps libpq when it is added on its own",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-alpine\nRUN apk add --no-cache libpq && apk add --no-cache --virtual .b gcc musl-dev postgresql-dev && pip install psycopg2 && apk del .b\n",
			},
		},
		{
			name: "psycopg[c] copied in a venv",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim AS b\nRUN apt-get update && apt-get install -y build-essential libpq-dev\nRUN python -m venv /venv && /venv/bin/pip install \"psycopg[c]\"\nFROM python:3.12-slim\nCOPY --from=b /venv /venv\n",
			},
			want: "Dockerfile:5 error", says: "psycopg",
		},
		{
			name: "built in a full image, shipped on slim",
			files: map[string]string{
				"Dockerfile": "FROM python:3.11 AS b\nRUN pip install --prefix=/install psycopg2==2.9.9\nFROM python:3.11-slim\nCOPY --from=b /install /usr/local\n",
			},
			want: "Dockerfile:4 error",
		},
		{
			name: "psycopg with psycopg-binary beside it",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install psycopg==3.2.3 psycopg-binary==3.2.3\n",
			},
		},
		{
			name: "psycopg[binary] installed by another command",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim\nRUN pip install psycopg==3.2.3\nRUN pip install \"psycopg[binary]==3.2.3\"\n",
			},
		},
		{
			name: "shipped on an image this rule does not know",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim AS b\nRUN apt-get update && apt-get install -y gcc libpq-dev\nRUN pip install --prefix=/i psycopg2\nFROM gcr.io/distroless/python3-debian12\nCOPY --from=b /i /usr/local\n",
			},
		},
		{
			name: "only the binaries folder is copied",
			files: map[string]string{
				"Dockerfile": "FROM python:3.12-slim AS b\nRUN apt-get update && apt-get install -y gcc libpq-dev\nRUN pip install psycopg2\nFROM python:3.12-slim\nCOPY --from=b /usr/local/bin/gunicorn /usr/local/bin/gunicorn\n",
			},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fs := bldCheck(t, ruleBuildRuntimeLibMissing, c.files)
			if strings.Join(got, ", ") != c.want {
				t.Fatalf("got %v, want %q", got, c.want)
			}
			if c.says != "" && !strings.Contains(fs[0].Message+fs[0].Fix, c.says) {
				t.Errorf("finding does not say %q: %s", c.says, fs[0].Message)
			}
		})
	}
}

// TestBuildRuntimeLibMissingCorpus runs the rule on real multi-stage
// Dockerfiles: as they are (their drivers are asyncpg or psycopg2-binary,
// or the final stage installs the library), and with psycopg2 from source
// in their requirements, which they would then ship without libpq5.
func TestBuildRuntimeLibMissingCorpus(t *testing.T) {
	for _, c := range []struct {
		repo, req string
		dropIn    string // the requirement line swapped for psycopg2
		want      string // with psycopg2
	}{
		// pip install --prefix=/install, COPY --from=builder /install /usr/local
		{"Tetsuozxcmid__irminsul-backend", "requirements.txt", "asyncpg==0.31.0", "Dockerfile:16 error"},
		// pip install --user, COPY --from=build /root/.local /root/.local
		{"scholarX-Assesment__student-service", "requirements.txt", "psycopg2-binary==2.9.10", "Dockerfile:9 error"},
		// CTFd: a venv in /opt/venv; the release stage installs libffi8 and libssl3 only
		{"CTFd__CTFd", "requirements.txt", "pymysql==1.1.1", "Dockerfile:50 error"},
		// healthchecks mounts the wheels (no COPY) and installs libpq5
		{"healthchecks__healthchecks", "requirements.txt", "", ""},
	} {
		t.Run(c.repo, func(t *testing.T) {
			files := map[string]string{
				"Dockerfile": bldCorpus(t, c.repo+"__Dockerfile"),
				c.req:        bldCorpus(t, c.repo+"__"+c.req),
			}
			if got, _ := bldCheck(t, ruleBuildRuntimeLibMissing, files); len(got) != 0 {
				t.Errorf("as committed: want no finding, got %v", got)
			}
			if c.dropIn == "" {
				return
			}
			if !strings.Contains(files[c.req], c.dropIn) {
				t.Fatalf("%s does not hold %q", c.req, c.dropIn)
			}
			files[c.req] = strings.Replace(files[c.req], c.dropIn, "psycopg2==2.9.9", 1)
			if got, _ := bldCheck(t, ruleBuildRuntimeLibMissing, files); strings.Join(got, ",") != c.want {
				t.Errorf("with psycopg2: got %v, want %s", got, c.want)
			}
		})
	}
}
