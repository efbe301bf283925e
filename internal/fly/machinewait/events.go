package machinewait

import (
	"time"

	flygo "github.com/superfly/fly-go"
)

// Exit is how a machine's process ended, as its exit event tells it.
type Exit struct {
	// Code is the exit code of the process.
	Code int
	// OOMKilled reports that the kernel killed the process for using more
	// memory than the VM has.
	OOMKilled bool
	// Signal is the signal that ended the process, 0 if none.
	Signal int
	// RequestedStop reports a stop asked for through the API (a deploy's
	// update stops the old process this way), not a crash.
	RequestedStop bool
	// Time is the event's time, on the API's clock.
	Time time.Time
	// Timestamp is the event's time in Unix milliseconds.
	Timestamp int64
}

// LastEventTime returns the time of the machine's newest event, in Unix
// milliseconds on the API's clock, or 0 when it has none. Events newer than
// this happened after the call that fetched m.
func LastEventTime(m *flygo.Machine) int64 {
	var t int64
	if m == nil {
		return 0
	}
	for _, e := range m.Events {
		if e != nil && e.Timestamp > t {
			t = e.Timestamp
		}
	}
	return t
}

// LastEventOf returns the newest event of the given type that happened after
// the Unix millisecond after, or nil.
func LastEventOf(m *flygo.Machine, typ string, after int64) *flygo.MachineEvent {
	var best *flygo.MachineEvent
	if m == nil {
		return nil
	}
	for _, e := range m.Events {
		if e == nil || e.Type != typ || e.Timestamp <= after {
			continue
		}
		if best == nil || e.Timestamp > best.Timestamp {
			best = e
		}
	}
	return best
}

// ExitAfter returns the newest exit of the machine's process after the Unix
// millisecond after, leaving out the stops asked for through the API unless
// requested is true; nil when there is none.
func ExitAfter(m *flygo.Machine, after int64, requested bool) *Exit {
	var best *Exit
	if m == nil {
		return nil
	}
	for _, e := range m.Events {
		if e == nil || e.Type != "exit" || e.Timestamp <= after {
			continue
		}
		x := exitOf(e)
		if x.RequestedStop && !requested {
			continue
		}
		if best == nil || x.Timestamp > best.Timestamp {
			best = &x
		}
	}
	return best
}

func exitOf(e *flygo.MachineEvent) Exit {
	x := Exit{Timestamp: e.Timestamp, Time: e.Time(), Code: -1}
	if e.Request == nil {
		return x
	}
	ev := e.Request.ExitEvent
	if e.Request.MonitorEvent != nil && e.Request.MonitorEvent.ExitEvent != nil {
		ev = e.Request.MonitorEvent.ExitEvent
	}
	if ev == nil {
		return x
	}
	x.Code = ev.ExitCode
	x.OOMKilled = ev.OOMKilled
	x.Signal = ev.Signal
	x.RequestedStop = ev.RequestedStop
	return x
}
