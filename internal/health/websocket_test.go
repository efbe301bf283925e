package health

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// wsServer serves JSON health at /health and a WebSocket at /ws whose
// behaviour is given by handle (called with the accepted connection).
func wsServer(t *testing.T, tlsOn bool, handle func(ctx context.Context, c *websocket.Conn)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/health", jsonHandler(200, `{"status":"ok"}`))
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		handle(r.Context(), c)
	})
	var srv *httptest.Server
	if tlsOn {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv
}

func echo(ctx context.Context, c *websocket.Conn) {
	for {
		typ, msg, err := c.Read(ctx)
		if err != nil {
			return
		}
		if err := c.Write(ctx, typ, msg); err != nil {
			return
		}
	}
}

func wsURL(srv *httptest.Server, path string) string {
	return "ws" + strings.TrimPrefix(srv.URL, "http") + path
}

func TestWebSocket(t *testing.T) {
	greeter := func(ctx context.Context, c *websocket.Conn) {
		c.Read(ctx)
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"welcome"}`))
		c.Read(ctx)
	}
	silent := func(ctx context.Context, c *websocket.Conn) {
		c.Read(ctx)
		<-ctx.Done()
	}
	tlsEcho := wsServer(t, true, echo)
	tests := []struct {
		name     string
		srv      *httptest.Server
		path     string
		client   *http.Client
		severity report.Severity
		echoed   bool
		msg      []string
		fix      string
	}{
		{name: "echo", srv: wsServer(t, false, echo), path: "/ws", severity: report.Notice, echoed: true,
			msg: []string{"connected in", "echo round trip"}},
		{name: "echo over wss", srv: tlsEcho, path: "/ws", client: tlsEcho.Client(), severity: report.Notice, echoed: true},
		{name: "no route", srv: wsServer(t, false, echo), path: "/nope", severity: report.Error,
			msg: []string{"the handshake failed", "404"}, fix: "No WebSocket route"},
		{name: "plain HTTP route", srv: wsServer(t, false, echo), path: "/health", severity: report.Error,
			msg: []string{"the handshake failed", "200"}, fix: "not 101 Switching Protocols"},
		{name: "greets instead of echoing", srv: wsServer(t, false, greeter), path: "/ws", severity: report.Warning,
			msg: []string{`the reply "{\"type\":\"welcome\"}" is not the message sent`}, fix: "not meant to echo"},
		{name: "never answers", srv: wsServer(t, false, silent), path: "/ws", severity: report.Error,
			msg: []string{"connected in", "no reply to the message: nothing within 300 ms"}, fix: "echoes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fast(tt.srv.URL+"/health", 2)
			o.Client = tt.client
			o.Timeout = 300 * time.Millisecond
			o.WebSocket = wsURL(tt.srv, tt.path)
			res := mustVerify(t, o)
			fs := res.Findings()
			ws := res.WebSocket
			if ws == nil {
				t.Fatalf("no WebSocket result:\n%s", dump(fs))
			}
			if ws.Echoed != tt.echoed {
				t.Errorf("echoed %v, want %v (%+v)", ws.Echoed, tt.echoed, ws)
			}
			f := one(t, fs, RuleWebSocket)
			if f.Severity != tt.severity {
				t.Errorf("severity %s, want %s:\n%s", f.Severity, tt.severity, dump(fs))
			}
			containsAll(t, "websocket finding", f.Message, tt.msg...)
			containsAll(t, "fix", f.Fix, tt.fix)
			if res.OK() != (tt.severity != report.Error) {
				t.Errorf("OK %v with a %s WebSocket finding", res.OK(), tt.severity)
			}
			if _, ok := res.Figures()["ws_round_trip_ms"]; ok != tt.echoed && tt.severity != report.Warning {
				t.Errorf("ws_round_trip_ms present %v", ok)
			}
		})
	}
}

func TestWebSocketRefused(t *testing.T) {
	srv := wsServer(t, false, echo)
	o := fast(srv.URL+"/health", 1)
	o.WebSocket = "ws://127.0.0.1:1/ws"
	res := mustVerify(t, o)
	f := one(t, res.Findings(), RuleWebSocket)
	containsAll(t, "websocket", f.Message, "the handshake failed", "connection refused")
	containsAll(t, "fix", f.Fix, "host and port")
}
