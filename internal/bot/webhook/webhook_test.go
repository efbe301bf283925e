package webhook

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/testutil"
)

var secret = []byte("It's a Secret to Everybody")

// recorder is a Sink that records what it is given.
type recorder struct {
	mu    sync.Mutex
	got   []Delivery
	res   Result
	err   error
	delay time.Duration
}

func (s *recorder) Deliver(ctx context.Context, d Delivery) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	time.Sleep(s.delay)
	s.got = append(s.got, d)
	return s.res, s.err
}

func corpus(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testutil.CorpusDir(t, "webhooks"), name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func post(h http.Handler, body []byte, hdr map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func signed(body []byte, event, id string) map[string]string {
	return map[string]string{HeaderSignature: Sign(secret, body), HeaderEvent: event, HeaderDelivery: id}
}

func TestNewRequiresSecret(t *testing.T) {
	if _, err := New(nil, &recorder{}); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("New without secret: %v, want ErrNoSecret", err)
	}
	if _, err := New([]byte(""), &recorder{}); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("New with empty secret: %v, want ErrNoSecret", err)
	}
	var zero Handler
	if w := post(&zero, []byte("{}"), signed([]byte("{}"), "issue_comment", "x")); w.Code != http.StatusInternalServerError {
		t.Fatalf("zero Handler answered %d, want 500", w.Code)
	}
}

// TestSignatureMatchesGitHub checks Sign against the example in GitHub's
// documentation ("Validating webhook deliveries").
func TestSignatureMatchesGitHub(t *testing.T) {
	const want = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	if got := Sign(secret, []byte("Hello, World!")); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
	if !Verify(secret, []byte("Hello, World!"), want) {
		t.Fatal("Verify refused GitHub's example")
	}
}

func TestRefusals(t *testing.T) {
	body := corpus(t, "issue_comment.created.on-pull-request.json")
	tampered := bytes.Replace(body, []byte(`"action": "created"`), []byte(`"action": "edited" `), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("the corpus payload changed: no action to tamper with")
	}
	good := Sign(secret, body)
	tests := []struct {
		name   string
		method string
		body   []byte
		hdr    map[string]string
		want   int
	}{
		{"no signature", "", body, map[string]string{HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"sha1 only", "", body, map[string]string{"X-Hub-Signature": "sha1=0123", HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"wrong secret", "", body, map[string]string{HeaderSignature: Sign([]byte("guess"), body), HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"tampered body", "", tampered, map[string]string{HeaderSignature: good, HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"no prefix", "", body, map[string]string{HeaderSignature: strings.TrimPrefix(good, "sha256="), HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"not hex", "", body, map[string]string{HeaderSignature: "sha256=zz" + good[9:], HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"short", "", body, map[string]string{HeaderSignature: good[:40], HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 401},
		{"upper-case hex", "", body, map[string]string{HeaderSignature: "sha256=" + strings.ToUpper(good[7:]), HeaderEvent: "issue_comment", HeaderDelivery: "1"}, 202},
		{"no event", "", body, map[string]string{HeaderSignature: good, HeaderDelivery: "1"}, 400},
		{"no delivery", "", body, map[string]string{HeaderSignature: good, HeaderEvent: "issue_comment"}, 400},
		{"overlong delivery", "", body, map[string]string{HeaderSignature: good, HeaderEvent: "issue_comment", HeaderDelivery: strings.Repeat("d", MaxDeliveryID+1)}, 400},
		{"malformed JSON", "", []byte(`{"action":"created",`), signed([]byte(`{"action":"created",`), "issue_comment", "2"), 400},
		{"JSON array", "", []byte(`[1]`), signed([]byte(`[1]`), "issue_comment", "3"), 400},
		{"empty", "", nil, signed(nil, "issue_comment", "4"), 400},
		{"GET", http.MethodGet, nil, nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recorder{res: Result{Outcome: Accepted}}
			h, _ := New(secret, sink)
			var w *httptest.ResponseRecorder
			if tt.method != "" {
				req := httptest.NewRequest(tt.method, "/webhook", nil)
				w = httptest.NewRecorder()
				h.ServeHTTP(w, req)
			} else {
				w = post(h, tt.body, tt.hdr)
			}
			if w.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", w.Code, strings.TrimSpace(w.Body.String()), tt.want)
			}
			if called := len(sink.got) > 0; called != (tt.want == 202) {
				t.Fatalf("sink called = %v for a %d answer", called, tt.want)
			}
		})
	}
}

func TestOversized(t *testing.T) {
	sink := &recorder{res: Result{Outcome: Accepted}}
	h, _ := New(secret, sink)
	h.MaxBody = 1 << 10
	big := []byte(`{"pad":"` + strings.Repeat("x", 2<<10) + `"}`)
	// With a Content-Length: refused before reading.
	if w := post(h, big, signed(big, "issue_comment", "a")); w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("declared oversize: %d, want 413", w.Code)
	}
	// Chunked, without a length: refused once the reader passes the cap.
	req := httptest.NewRequest(http.MethodPost, "/webhook", io.MultiReader(bytes.NewReader(big)))
	req.ContentLength = -1
	for k, v := range signed(big, "issue_comment", "b") {
		req.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked oversize: %d, want 413", w.Code)
	}
	if len(sink.got) != 0 {
		t.Fatal("the sink saw an oversized delivery")
	}
	// The default cap is 25 MB.
	h2, _ := New(secret, sink)
	req = httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader("{}"))
	req.ContentLength = MaxBody + 1
	w = httptest.NewRecorder()
	h2.ServeHTTP(w, req)
	if w.Code != http.StatusRequestEntityTooLarge || MaxBody != 25<<20 {
		t.Fatalf("25 MB cap: %d", w.Code)
	}
}

func TestPingAndOutcomes(t *testing.T) {
	for _, name := range []string{"ping.json", "ping.with-app_id.json"} {
		sink := &recorder{}
		h, _ := New(secret, sink)
		body := corpus(t, name)
		if w := post(h, body, signed(body, "ping", "p")); w.Code != http.StatusOK || len(sink.got) != 0 {
			t.Fatalf("%s: %d, sink %d, want 200 and no sink call", name, w.Code, len(sink.got))
		}
	}
	body := corpus(t, "workflow_run.completed.json")
	tests := []struct {
		res  Result
		err  error
		want int
	}{
		{Result{Outcome: Accepted, Reason: "job 1"}, nil, 202},
		{Result{Outcome: Duplicate}, nil, 200},
		{Result{Outcome: Ignored, Reason: "not a command"}, nil, 200},
		{Result{}, ErrBadPayload, 400},
		{Result{}, errors.New("disk full"), 503},
	}
	for _, tt := range tests {
		sink := &recorder{res: tt.res, err: tt.err}
		h, _ := New(secret, sink)
		var observed []int
		h.Observe = func(event string, status int, took time.Duration) { observed = append(observed, status) }
		w := post(h, body, signed(body, "workflow_run", "w-1"))
		if w.Code != tt.want {
			t.Errorf("%+v/%v: %d, want %d", tt.res, tt.err, w.Code, tt.want)
		}
		if len(sink.got) != 1 || sink.got[0].ID != "w-1" || sink.got[0].Event != "workflow_run" || !bytes.Equal(sink.got[0].Body, body) {
			t.Errorf("sink got %d deliveries", len(sink.got))
		}
		if len(observed) != 1 || observed[0] != tt.want {
			t.Errorf("observed %v", observed)
		}
	}
}

func TestVerifyEmptySecret(t *testing.T) {
	if Verify(nil, []byte("x"), Sign(nil, []byte("x"))) {
		t.Fatal("an empty secret must never verify")
	}
}
