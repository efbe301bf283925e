package health

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"
)

// WebSocketResult is the outcome of the WebSocket connect-and-echo check.
type WebSocketResult struct {
	URL string `json:"url"`
	// Connected is true when the handshake succeeded (101 Switching
	// Protocols).
	Connected bool `json:"connected"`
	// Echoed is true when the message sent came back unchanged.
	Echoed bool `json:"echoed"`
	// Connect is the time the handshake took; RoundTrip the time from
	// sending the message to reading the reply.
	Connect   time.Duration `json:"connect_ns"`
	RoundTrip time.Duration `json:"round_trip_ns,omitempty"`
	// Status is the handshake's HTTP status when it was not 101.
	Status int `json:"status,omitempty"`
	// Reply is the start of a reply that was not the echo.
	Reply string `json:"reply,omitempty"`
	// Problem is why the check failed, in words ("" when it passed).
	Problem string `json:"problem,omitempty"`
	// Timeout is true when the failure was waiting past Options.Timeout.
	Timeout bool `json:"timeout,omitempty"`
}

// checkWebSocket dials o.WebSocket, sends a text message and reads one
// message back, all within o.Timeout.
func checkWebSocket(ctx context.Context, client *http.Client, o Options) *WebSocketResult {
	r := &WebSocketResult{URL: o.WebSocket}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	conn, resp, err := websocket.Dial(ctx, o.WebSocket, &websocket.DialOptions{
		HTTPClient: client,
		HTTPHeader: http.Header{"User-Agent": {"deploy-action-verify/1"}},
	})
	r.Connect = time.Since(start)
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			r.Status = resp.StatusCode
		}
		r.Timeout = errors.Is(err, context.DeadlineExceeded)
		r.Problem = "the handshake failed: " + wsDetail(err, o.Timeout)
		return r
	}
	r.Connected = true
	defer conn.CloseNow()

	msg := "deploy-action verify " + strconv.FormatInt(time.Now().UnixNano(), 36)
	sent := time.Now()
	if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		r.Timeout = errors.Is(err, context.DeadlineExceeded)
		r.Problem = "sending a message failed: " + wsDetail(err, o.Timeout)
		return r
	}
	_, reply, err := conn.Read(ctx)
	if err != nil {
		r.Timeout = errors.Is(err, context.DeadlineExceeded)
		r.Problem = "no reply to the message: " + wsDetail(err, o.Timeout)
		return r
	}
	r.RoundTrip = time.Since(sent)
	if string(reply) != msg {
		r.Reply = quoteStart(reply, 60)
		r.Problem = fmt.Sprintf("the reply %s is not the message sent", r.Reply)
		// Still a live socket: close it politely below.
	} else {
		r.Echoed = true
	}
	// A normal closure, so the app does not log an abnormal disconnect; the
	// close handshake is bounded by the library (5 s).
	_ = conn.Close(websocket.StatusNormalClosure, "deploy-action verify done")
	return r
}

func wsDetail(err error, timeout time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("nothing within %s", fmtDur(timeout))
	}
	return err.Error()
}
