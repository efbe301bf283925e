// Package flysimtest starts flysim servers for tests and holds them to Fly's
// contract: every API answer is validated against Fly's Machines OpenAPI
// description (../shared/corpus/schemas/fly-machines-openapi.yml) with
// kin-openapi, and a violation fails the test. Import it from tests only: it
// brings kin-openapi into the binary.
package flysimtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/grupo-gad/deploy-action/internal/flysim"
	"github.com/grupo-gad/deploy-action/internal/testutil"
)

// specHost is the host of the description's `servers` entry; requests are
// rewritten to it so the router matches them.
const specHost = "https://api.machines.dev"

// Violation is an answer (or a request) that does not follow the OpenAPI
// description.
type Violation struct {
	// Method and Path identify the request.
	Method, Path string
	// Status is the status of the answer.
	Status int
	// Err says what does not match.
	Err string
}

// String returns "METHOD path -> status: what is wrong".
func (v Violation) String() string {
	return fmt.Sprintf("%s %s -> %d: %s", v.Method, v.Path, v.Status, v.Err)
}

// Contract validates traffic against the Machines OpenAPI description.
type Contract struct {
	router    routers.Router
	errSchema *openapi3.Schema

	mu         sync.Mutex
	responses  []Violation
	requests   []Violation
	checked    int
	operations map[string]int
}

// LoadContract reads the OpenAPI description at path.
func LoadContract(path string) (*Contract, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("route %s: %w", path, err)
	}
	errSchema := doc.Components.Schemas["ErrorResponse"]
	if errSchema == nil || errSchema.Value == nil {
		return nil, fmt.Errorf("%s: no ErrorResponse schema", path)
	}
	return &Contract{router: router, errSchema: errSchema.Value, operations: map[string]int{}}, nil
}

// SpecPath returns where the shared corpus keeps the description (the test
// is skipped when the corpus is missing, except under CI).
func SpecPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(testutil.CorpusDir(t, "schemas"), "fly-machines-openapi.yml")
}

var (
	loadOnce   sync.Once
	loadedSpec *Contract
	loadErr    error
)

// Sim is a running emulator whose answers are checked against the
// description.
type Sim struct {
	*flysim.Server
	// URL is the API's base URL (FLY_FLAPS_BASE_URL, fly.SetBaseURL).
	URL string
	// Contract holds what the validation found.
	Contract *Contract
}

// New starts a flysim server for t whose every Machines API answer is
// validated against the description; a violation fails t when the test
// ends. The server is closed by t.Cleanup (machine processes included).
func New(t testing.TB, opts flysim.Options) *Sim {
	t.Helper()
	path := SpecPath(t)
	loadOnce.Do(func() { loadedSpec, loadErr = LoadContract(path) })
	if loadErr != nil {
		t.Fatalf("flysimtest: %v", loadErr)
	}
	c := &Contract{router: loadedSpec.router, errSchema: loadedSpec.errSchema, operations: map[string]int{}}
	prev := opts.Middleware
	opts.Middleware = func(h http.Handler) http.Handler {
		if prev != nil {
			h = prev(h)
		}
		return c.Middleware(h)
	}
	srv := flysim.New(opts)
	base, err := srv.Start()
	if err != nil {
		t.Fatalf("flysimtest: start: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Close()
		for _, v := range c.Violations() {
			t.Errorf("flysim answer breaks Fly's OpenAPI description: %s", v)
		}
	})
	return &Sim{Server: srv, URL: base, Contract: c}
}

// Violations returns the answers that broke the description so far.
func (c *Contract) Violations() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.responses...)
}

// RequestMismatches returns the requests (made by clients such as fly-go)
// that do not follow the description. They are the clients' business, not
// the emulator's, so they are only reported.
func (c *Contract) RequestMismatches() []Violation {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Violation(nil), c.requests...)
}

// Checked returns how many answers were validated.
func (c *Contract) Checked() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.checked
}

// Operations returns how many answers were validated per operation
// ("GET /v1/apps/{app_name}/machines/{machine_id}").
func (c *Contract) Operations() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.operations))
	for k, v := range c.operations {
		out[k] = v
	}
	return out
}

type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *capture) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *capture) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Middleware validates every /v1 request and answer passing through it.
// Answers with a status the description does not list must still be a
// Fly error body ({"error": "..."}, the ErrorResponse schema).
func (c *Contract) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))

		u, _ := url.Parse(specHost + r.URL.RequestURI())
		specReq := r.Clone(context.Background())
		specReq.URL = u
		specReq.Host = u.Host
		specReq.RequestURI = ""
		specReq.Body = io.NopCloser(bytes.NewReader(body))

		rec := &capture{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		c.check(specReq, body, rec)
	})
}

func (c *Contract) check(req *http.Request, reqBody []byte, rec *capture) {
	v := Violation{Method: req.Method, Path: req.URL.RequestURI(), Status: rec.status}
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		v.Err = "no operation in the description: " + err.Error()
		c.add(&c.responses, v)
		return
	}
	c.mu.Lock()
	c.checked++
	c.operations[req.Method+" "+route.Path]++
	c.mu.Unlock()

	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		rv := v
		rv.Err = oneLine(err.Error())
		c.add(&c.requests, rv)
	}
	in.Request.Body = io.NopCloser(bytes.NewReader(reqBody))
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.status,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	err = openapi3filter.ValidateResponse(context.Background(), out)
	if err == nil {
		return
	}
	if re, ok := err.(*openapi3filter.ResponseError); ok && re.Reason == "status is not supported" && rec.status >= 400 {
		// Fly answers many errors the description does not list (404,
		// 408, 409, 412, 5xx): they must still be Fly error bodies.
		var body any
		if jerr := json.Unmarshal(rec.body.Bytes(), &body); jerr != nil {
			v.Err = "undocumented error status without a JSON body: " + jerr.Error()
			c.add(&c.responses, v)
			return
		}
		if obj, ok := body.(map[string]any); !ok || obj["error"] == nil {
			v.Err = "undocumented error status whose body has no \"error\""
			c.add(&c.responses, v)
			return
		}
		if verr := c.errSchema.VisitJSON(body); verr != nil {
			v.Err = "error body is not an ErrorResponse: " + oneLine(verr.Error())
			c.add(&c.responses, v)
		}
		return
	}
	v.Err = oneLine(err.Error())
	c.add(&c.responses, v)
}

func (c *Contract) add(list *[]Violation, v Violation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*list = append(*list, v)
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 600 {
		s = s[:600] + "…"
	}
	return s
}
