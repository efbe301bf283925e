package health

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestParseExpectation(t *testing.T) {
	tests := []struct {
		in      string
		want    Expectation
		wantErr string
	}{
		{in: "status=ok", want: Expectation{Path: "status", Value: "ok"}},
		{in: "checks.db=ok", want: Expectation{Path: "checks.db", Value: "ok"}},
		{in: "msg=a=b", want: Expectation{Path: "msg", Value: "a=b"}},
		{in: "status=", want: Expectation{Path: "status", Value: ""}},
		{in: "version", want: Expectation{Path: "version", Exists: true}},
		{in: "=ok", wantErr: "want KEY=VALUE"},
		{in: "", wantErr: "want KEY=VALUE"},
		{in: "a..b=1", wantErr: "empty key segment"},
	}
	for _, tt := range tests {
		got, err := ParseExpectation(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseExpectation(%q) error %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseExpectation(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if err == nil && got.String() != strings.TrimSuffix(tt.in, "") {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestMatches(t *testing.T) {
	tests := []struct {
		json string
		want string
		ok   bool
	}{
		{`"ok"`, "ok", true},
		{`"ok"`, "OK", false},
		{`1`, "1.0", true},
		{`1e3`, "1000", true},
		{`12345678901234567890`, "12345678901234567890", true},
		{`12345678901234567890`, "12345678901234567891", false},
		{`1`, "one", false},
		{`true`, "true", true},
		{`false`, "true", false},
		{`null`, "null", true},
		{`null`, "", false},
		{`[1, 2]`, "[1,2]", true},
		{`{"a": [true]}`, `{ "a" : [ true ] }`, true},
		{`{"a": 1}`, `not json`, false},
	}
	for _, tt := range tests {
		dec := json.NewDecoder(strings.NewReader(tt.json))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		if got := matches(v, tt.want); got != tt.ok {
			t.Errorf("matches(%s, %q) = %v, want %v", tt.json, tt.want, got, tt.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		var out []time.Duration
		for _, n := range ns {
			out = append(out, time.Duration(n)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		vals      []time.Duration
		p50, p95  time.Duration
		nameOfSet string
	}{
		{nil, 0, 0, "empty"},
		{ms(7), 7 * time.Millisecond, 7 * time.Millisecond, "one"},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 5 * time.Millisecond, 10 * time.Millisecond, "ten: p95 is the max"},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20), 10 * time.Millisecond, 19 * time.Millisecond, "twenty"},
	}
	for _, tt := range tests {
		if got := percentile(tt.vals, 50); got != tt.p50 {
			t.Errorf("%s: p50 %v, want %v", tt.nameOfSet, got, tt.p50)
		}
		if got := percentile(tt.vals, 95); got != tt.p95 {
			t.Errorf("%s: p95 %v, want %v", tt.nameOfSet, got, tt.p95)
		}
	}
}

func TestStreaks(t *testing.T) {
	pattern := "++-+++--++"
	r := &Result{}
	for i, c := range pattern {
		r.Samples = append(r.Samples, Sample{N: i + 1, Passed: c == '+', Status: 200})
	}
	r.summarize()
	if r.Passed != 7 || r.Consecutive != 2 || r.LongestStreak != 3 {
		t.Errorf("passed %d consecutive %d longest %d", r.Passed, r.Consecutive, r.LongestStreak)
	}
}

func TestFormatting(t *testing.T) {
	durs := map[time.Duration]string{
		420 * time.Microsecond:    "0.42 ms",
		4200 * time.Microsecond:   "4.2 ms",
		123456 * time.Microsecond: "123 ms",
		1800 * time.Millisecond:   "1.8 s",
	}
	for d, want := range durs {
		if got := fmtDur(d); got != want {
			t.Errorf("fmtDur(%v) = %q, want %q", d, got, want)
		}
	}
	lists := map[string]string{
		"3":        "sample 3",
		"2,3,4,7":  "samples 2–4, 7",
		"1,3,5":    "samples 1, 3, 5",
		"1,2,9,10": "samples 1–2, 9–10",
	}
	for in, want := range lists {
		var nums []int
		for _, s := range strings.Split(in, ",") {
			var n int
			for _, c := range s {
				n = n*10 + int(c-'0')
			}
			nums = append(nums, n)
		}
		if got := sampleList(nums); got != want {
			t.Errorf("sampleList(%s) = %q, want %q", in, got, want)
		}
	}
}

func TestStatusFixes(t *testing.T) {
	for code, want := range map[int]string{
		400: "https://", 500: "traceback", 502: "internal_port", 503: "hard_limit", 504: "too slow",
		404: "/health and /health/ differ", 401: "anonymously", 403: "anonymously",
		405: "GET", 429: "rate", 599: "server error", 418: "--expect-status",
	} {
		if got := statusFix(code, "http://x/health"); !strings.Contains(got, want) {
			t.Errorf("statusFix(%d) lacks %q: %s", code, want, got)
		}
	}
}

// FuzzCheckBody feeds arbitrary bodies and expectations to the JSON check:
// it must never panic, and must pass or say what failed.
func FuzzCheckBody(f *testing.F) {
	f.Add([]byte(`{"status":"ok"}`), "status=ok")
	f.Add([]byte(`{"checks":{"db":"down"}}`), "checks.db=ok")
	f.Add([]byte(`{"n":[1,{"a":null}]}`), "n.1.a=null")
	f.Add([]byte(`<html>`), "status")
	f.Add([]byte(`[1,2]`), "0=1")
	f.Add([]byte("\xff\xfe{"), "a.b.c")
	f.Fuzz(func(t *testing.T, body []byte, spec string) {
		e, err := ParseExpectation(spec)
		if err != nil {
			return
		}
		got := checkBody(body, "application/json", []Expectation{e})
		if got != "" && !strings.Contains(got, e.Path) && !strings.HasPrefix(got, "the body is not JSON") {
			t.Errorf("checkBody(%q, %q) = %q: names neither the path nor the parse error", body, spec, got)
		}
	})
}
