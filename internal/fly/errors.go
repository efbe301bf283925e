package fly

import (
	"context"
	"errors"
	"net"
	"net/http"

	"github.com/superfly/fly-go/flaps"
)

// StatusCode returns the HTTP status of the Machines API response behind err,
// or 0 when err did not come from an API response.
func StatusCode(err error) int {
	var fe *flaps.FlapsError
	if errors.As(err, &fe) {
		return fe.ResponseStatusCode
	}
	return 0
}

// IsNotFound reports whether err is the API's 404.
func IsNotFound(err error) bool { return StatusCode(err) == http.StatusNotFound }

// IsConflict reports whether err is the API's 409 (a lease held by someone
// else, or a stale nonce).
func IsConflict(err error) bool { return StatusCode(err) == http.StatusConflict }

// IsWaitTimeout reports whether err is Wait giving up before the machine
// reached the state: the API answers 408 when its own timeout passes.
func IsWaitTimeout(err error) bool { return StatusCode(err) == http.StatusRequestTimeout }

// IsTransient reports whether a call that failed with err may succeed when
// made again: a 5xx or 429 answer, or a network error that is not the
// caller's own context ending.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch code := StatusCode(err); {
	case code == http.StatusTooManyRequests, code >= 500:
		return true
	case code != 0:
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe)
}
