// Package webhook is the bot's intake of GitHub webhook deliveries: an
// http.Handler that checks a delivery before anything else looks at it and
// hands the verified raw body to a Sink.
//
// The order is a contract:
//   - a body over MaxBody bytes is refused with 413 (read through
//     http.MaxBytesReader, so an endless body costs at most MaxBody bytes);
//   - a missing or wrong X-Hub-Signature-256 (HMAC-SHA256 of the raw body
//     under the webhook secret, compared in constant time) is refused with
//     401, and nothing else is done;
//   - a missing X-GitHub-Event or X-GitHub-Delivery header, or a body that
//     is not a JSON object, is refused with 400;
//   - `ping` is answered 200;
//   - everything else goes to the Sink, whose Outcome picks the answer:
//     202 Accepted (persisted, will be worked on), 200 for a duplicate or an
//     ignored delivery, 400 for a payload the sink cannot read, 503 when the
//     sink could not persist it (GitHub shows the failure and it can be
//     redelivered).
//
// A Handler refuses to exist without a secret: go-github's ValidatePayload
// accepts unsigned bodies when the secret is empty, and so would a careless
// intake.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// MaxBody is the largest delivery accepted: 25 MB, GitHub's own cap on a
// webhook payload.
const MaxBody = 25 << 20

// MaxDeliveryID is the longest X-GitHub-Delivery accepted (GitHub sends a
// 36-character GUID).
const MaxDeliveryID = 128

// The headers GitHub sends with a delivery.
const (
	HeaderSignature = "X-Hub-Signature-256"
	HeaderEvent     = "X-GitHub-Event"
	HeaderDelivery  = "X-GitHub-Delivery"
)

// Delivery is one verified webhook delivery.
type Delivery struct {
	// ID is the X-GitHub-Delivery GUID, the de-duplication key.
	ID string
	// Event is the X-GitHub-Event name ("issue_comment", "workflow_run", ...).
	Event string
	// Body is the raw JSON payload, signature verified.
	Body []byte
	// Received is when the request arrived.
	Received time.Time
}

// Outcome is what a Sink did with a delivery.
type Outcome int

// The outcomes.
const (
	// Ignored: nothing to do (an event or action the bot does not act on).
	Ignored Outcome = iota
	// Accepted: persisted; it will be worked on asynchronously.
	Accepted
	// Duplicate: this delivery id was accepted before.
	Duplicate
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Accepted:
		return "accepted"
	case Duplicate:
		return "duplicate"
	}
	return "ignored"
}

// Result is a Sink's answer: the outcome and, for logs and the response
// body, why.
type Result struct {
	Outcome Outcome
	Reason  string
}

// ErrBadPayload wrapped in a Sink's error makes the answer 400: the payload
// is JSON but not the shape its event promises.
var ErrBadPayload = errors.New("bad payload")

// Sink receives verified deliveries. Deliver must persist what it accepts
// before it returns.
type Sink interface {
	Deliver(ctx context.Context, d Delivery) (Result, error)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ctx context.Context, d Delivery) (Result, error)

// Deliver calls f.
func (f SinkFunc) Deliver(ctx context.Context, d Delivery) (Result, error) { return f(ctx, d) }

// Handler is the webhook endpoint.
type Handler struct {
	secret []byte
	sink   Sink
	// MaxBody caps the body in bytes (default MaxBody).
	MaxBody int64
	// Logger receives one line per refused or failed delivery (default
	// slog.Default()).
	Logger *slog.Logger
	// Observe, when set, is called once per request with the event name
	// ("" when unknown), the status answered and the time taken.
	Observe func(event string, status int, took time.Duration)
}

// ErrNoSecret is returned by New without a secret.
var ErrNoSecret = errors.New("webhook: a webhook secret is required (GITHUB_WEBHOOK_SECRET); without one any stranger could post deliveries")

// New returns a handler that verifies deliveries with secret and hands them
// to sink. It returns ErrNoSecret when secret is empty.
func New(secret []byte, sink Sink) (*Handler, error) {
	if len(secret) == 0 {
		return nil, ErrNoSecret
	}
	if sink == nil {
		return nil, errors.New("webhook: nil sink")
	}
	return &Handler{secret: bytes.Clone(secret), sink: sink}, nil
}

// Sign returns the X-Hub-Signature-256 value of body under secret:
// "sha256=" and the hex HMAC-SHA256.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether header is the valid X-Hub-Signature-256 of body
// under secret. The comparison takes constant time. An empty secret never
// verifies.
func Verify(secret, body []byte, header string) bool {
	if len(secret) == 0 {
		return false
	}
	hexSig, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return false
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hmac.Equal(got, m.Sum(nil))
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// ServeHTTP checks and hands on one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	event := ""
	status := http.StatusInternalServerError
	defer func() {
		if h.Observe != nil {
			h.Observe(event, status, time.Since(start))
		}
	}()
	reply := func(code int, msg string) {
		status = code
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(code)
		io.WriteString(w, msg+"\n")
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(http.StatusMethodNotAllowed, "POST a GitHub webhook delivery here")
		return
	}
	if len(h.secret) == 0 {
		reply(http.StatusInternalServerError, "no webhook secret configured")
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = MaxBody
	}
	if r.ContentLength > limit {
		reply(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			reply(http.StatusRequestEntityTooLarge, fmt.Sprintf("body over %d bytes", limit))
			return
		}
		reply(http.StatusBadRequest, "could not read the body")
		return
	}
	if !Verify(h.secret, body, r.Header.Get(HeaderSignature)) {
		h.logger().Warn("webhook refused: missing or wrong signature", "remote", r.RemoteAddr, "delivery", trim(r.Header.Get(HeaderDelivery)))
		reply(http.StatusUnauthorized, "missing or wrong "+HeaderSignature)
		return
	}
	event = r.Header.Get(HeaderEvent)
	id := r.Header.Get(HeaderDelivery)
	switch {
	case event == "" || len(event) > 64:
		reply(http.StatusBadRequest, "missing "+HeaderEvent)
		return
	case id == "" || len(id) > MaxDeliveryID:
		reply(http.StatusBadRequest, "missing or overlong "+HeaderDelivery)
		return
	case !isObject(body):
		reply(http.StatusBadRequest, "the body is not a JSON object")
		return
	case event == "ping":
		reply(http.StatusOK, "pong")
		return
	}
	res, err := h.sink.Deliver(r.Context(), Delivery{ID: id, Event: event, Body: body, Received: start})
	switch {
	case errors.Is(err, ErrBadPayload):
		h.logger().Warn("webhook refused: unreadable payload", "event", event, "delivery", id, "err", err)
		reply(http.StatusBadRequest, err.Error())
	case err != nil:
		h.logger().Error("webhook not persisted", "event", event, "delivery", id, "err", err)
		reply(http.StatusServiceUnavailable, "could not record the delivery; redeliver it later")
	case res.Outcome == Accepted:
		reply(http.StatusAccepted, "accepted: "+res.Reason)
	default:
		reply(http.StatusOK, res.Outcome.String()+": "+res.Reason)
	}
}

// isObject reports whether body is one valid JSON object.
func isObject(body []byte) bool {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	return len(trimmed) > 0 && trimmed[0] == '{' && json.Valid(body)
}

func trim(s string) string {
	if len(s) > MaxDeliveryID {
		return s[:MaxDeliveryID]
	}
	return s
}
