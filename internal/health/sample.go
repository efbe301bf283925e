package health

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// Problem is why a sample failed.
type Problem string

// The problems a sample can have.
const (
	ProblemNone     Problem = ""         // the sample passed
	ProblemStatus   Problem = "status"   // an unexpected status code
	ProblemRedirect Problem = "redirect" // a 3xx with a Location, not followed
	ProblemBody     Problem = "body"     // the JSON body check failed
	ProblemTimeout  Problem = "timeout"  // no answer within Options.Timeout
	ProblemTLS      Problem = "tls"      // the TLS handshake or certificate failed
	ProblemConnect  Problem = "connect"  // no connection (DNS, refused, reset…)
)

// Sample is one request and what came back.
type Sample struct {
	// N is the sample's 1-based number.
	N int `json:"n"`
	// Start is when the request was sent.
	Start time.Time `json:"start"`
	// Latency is the time from sending the request to the end of the body
	// (or to the failure). Connection set-up counts: the first sample opens
	// the connection, the next ones reuse it as a browser would.
	Latency time.Duration `json:"latency_ns"`
	// Status is the response's status code; 0 when there was no response.
	Status int `json:"status,omitempty"`
	// Location is the resolved Location header of a redirect.
	Location string `json:"location,omitempty"`
	// Via is the response's Via header (Fly's proxy adds "… fly.io").
	Via string `json:"via,omitempty"`
	// Passed is true when the sample met every expectation.
	Passed bool `json:"passed"`
	// Problem is why the sample failed.
	Problem Problem `json:"problem,omitempty"`
	// Detail says what went wrong, in words.
	Detail string `json:"detail,omitempty"`
	// Err is the transport error, when there was no response.
	Err error `json:"-"`

	tls *tls.ConnectionState
}

// responded reports whether the sample got an HTTP response.
func (s Sample) responded() bool { return s.Status != 0 }

// takeSample sends one GET to o.URL.
func takeSample(ctx context.Context, client *http.Client, o Options, n int) Sample {
	s := Sample{N: n}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.URL, nil)
	if err != nil {
		s.Problem, s.Detail, s.Err = ProblemConnect, err.Error(), err
		return s
	}
	req.Header.Set("User-Agent", "deploy-action-verify/1")
	if len(o.ExpectJSON) > 0 {
		req.Header.Set("Accept", "application/json")
	}
	s.Start = time.Now()
	resp, err := client.Do(req)
	if err != nil {
		s.Latency = time.Since(s.Start)
		s.Err = err
		s.Problem, s.Detail = describeErr(err, o.Timeout)
		return s
	}
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	s.Latency = time.Since(s.Start)
	s.Status = resp.StatusCode
	s.Via = resp.Header.Get("Via")
	s.tls = resp.TLS
	if loc, err := resp.Location(); err == nil {
		s.Location = loc.String()
	}
	switch {
	case rerr != nil:
		s.Err = rerr
		s.Problem, s.Detail = describeErr(rerr, o.Timeout)
		s.Detail = "reading the body: " + s.Detail
	case s.Status != o.ExpectStatus && s.Status/100 == 3 && s.Location != "":
		s.Problem = ProblemRedirect
		s.Detail = fmt.Sprintf("%s → %s", statusText(s.Status), s.Location)
	case s.Status != o.ExpectStatus:
		s.Problem = ProblemStatus
		s.Detail = statusText(s.Status)
	case len(o.ExpectJSON) > 0:
		if d := checkBody(body, resp.Header.Get("Content-Type"), o.ExpectJSON); d != "" {
			s.Problem, s.Detail = ProblemBody, d
		}
	}
	s.Passed = s.Problem == ProblemNone
	return s
}

// statusText formats a code as "503 Service Unavailable".
func statusText(code int) string {
	if t := http.StatusText(code); t != "" {
		return fmt.Sprintf("%d %s", code, t)
	}
	return fmt.Sprintf("%d", code)
}

// describeErr classifies a transport error and words it without the
// request's method and URL, which every finding already names.
func describeErr(err error, timeout time.Duration) (Problem, string) {
	inner := err
	var ue *url.Error
	if errors.As(err, &ue) {
		inner = ue.Err
	}
	var (
		dnsErr  *net.DNSError
		verErr  *tls.CertificateVerificationError
		unkAuth x509.UnknownAuthorityError
		invalid x509.CertificateInvalidError
		hostErr x509.HostnameError
		alert   tls.AlertError
		recErr  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return ProblemTimeout, fmt.Sprintf("no answer within %s", timeout)
	case errors.As(err, &verErr), errors.As(err, &unkAuth), errors.As(err, &invalid),
		errors.As(err, &hostErr), errors.As(err, &alert), errors.As(err, &recErr):
		return ProblemTLS, inner.Error()
	case strings.Contains(inner.Error(), "server gave HTTP response to HTTPS client"):
		return ProblemTLS, inner.Error()
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return ProblemConnect, fmt.Sprintf("%s does not resolve (no such host)", dnsErr.Name)
		}
		return ProblemConnect, "DNS lookup failed: " + dnsErr.Error()
	case errors.Is(err, syscall.ECONNREFUSED):
		return ProblemConnect, "connection refused: " + inner.Error()
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ProblemConnect, "the connection was closed without a complete answer: " + inner.Error()
	}
	return ProblemConnect, inner.Error()
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// checkBody checks body against every expectation and returns what failed,
// or "" when all hold.
func checkBody(body []byte, contentType string, exps []Expectation) string {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	err := dec.Decode(&doc)
	if err == nil && dec.More() {
		err = errors.New("more than one JSON value")
	}
	if err != nil {
		ct := contentType
		if ct == "" {
			ct = "none"
		}
		return fmt.Sprintf("the body is not JSON (%v; Content-Type %s, %d bytes, starts %s)", err, ct, len(body), quoteStart(body, 60))
	}
	var fails []string
	for _, e := range exps {
		if msg := e.check(doc); msg != "" {
			fails = append(fails, msg)
		}
	}
	return strings.Join(fails, "; ")
}

// quoteStart quotes the first n characters of b as valid UTF-8.
func quoteStart(b []byte, n int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n]) + "…"
	}
	return fmt.Sprintf("%q", s)
}
