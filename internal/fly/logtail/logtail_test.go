package logtail

import (
	"context"
	"strings"
	"testing"

	flygo "github.com/superfly/fly-go"
)

func TestRedact(t *testing.T) {
	tests := []struct {
		in, want string
		mask     []string
	}{
		{in: "sqlalchemy.exc.OperationalError: connection to postgres://app:s3cr3tPassw0rd@db.internal:5432/app failed",
			want: "sqlalchemy.exc.OperationalError: connection to postgres://app:***@db.internal:5432/app failed"},
		{in: "SECRET_KEY=Zx81kP0qLmN3vB7cR2tY9uW4 starting", want: "SECRET_KEY=*** starting"},
		{in: `{"api_token": "abcd1234efgh5678ijkl"}`, want: `{"api_token": "***"}`},
		{in: "INFO  [alembic.runtime.migration] Running upgrade  -> 29e2b3c8b942", want: "INFO  [alembic.runtime.migration] Running upgrade  -> 29e2b3c8b942"},
		{in: "password authentication failed for user \"app\"", want: "password authentication failed for user \"app\""},
		{in: "value is hunter2-hunter2 here", mask: []string{"hunter2-hunter2"}, want: "value is *** here"},
		{in: "SECRET_KEY=changeme", want: "SECRET_KEY=changeme"},
	}
	for _, tt := range tests {
		if got := Redact(tt.in, tt.mask...); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRedactKnownFormat(t *testing.T) {
	tok := "ghp_" + strings.Repeat("aB3dE5fG7h", 3) + "123456"
	got := Redact("token " + tok + " rejected")
	if strings.Contains(got, tok) {
		t.Fatalf("GitHub token not masked: %q", got)
	}
}

type fakeLogs struct {
	pages [][]flygo.LogEntry
	calls int
}

func (f *fakeLogs) GetAppLogs(_ context.Context, _, token, _, _ string) ([]flygo.LogEntry, string, error) {
	f.calls++
	i := 0
	if token != "" {
		i = int(token[0] - '0')
	}
	if i >= len(f.pages) {
		return nil, token, nil
	}
	return f.pages[i], string(rune('0' + i + 1)), nil
}

func TestFetchTailAndFilter(t *testing.T) {
	e := func(ts, inst, msg string) flygo.LogEntry {
		return flygo.LogEntry{Timestamp: ts, Instance: inst, Message: msg}
	}
	f := &fakeLogs{pages: [][]flygo.LogEntry{
		{e("2024-01-01T00:00:01Z", "m1", "one"), e("2024-01-01T00:00:02Z", "other", "noise")},
		{e("2024-01-01T00:00:03Z", "m1", "two\nthree"), e("2024-01-01T00:00:04Z", "m1", "DATABASE_PASSWORD=Qw3rtyUiop!Asdf")},
	}}
	got, err := Fetch(context.Background(), f, "app", "m1", Options{Lines: 3})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"two", "three", "DATABASE_PASSWORD=***"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Fetch = %q, want %q", got, want)
	}
}
