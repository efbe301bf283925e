package flysim

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// LogLine is one line of an app's log, as the logs API serves it.
type LogLine struct {
	// Seq orders the lines of an app (1, 2, ...).
	Seq int64
	// Time is when the line was written.
	Time time.Time
	// Machine is the machine (instance) that wrote it.
	Machine string
	// Region is the machine's region.
	Region string
	// Level is "info" or "error".
	Level string
	// Provider is "app" for the process's output and "runner" for the
	// lines Fly's machine runner adds (start, exit, OOM, restart policy).
	Provider string
	// Message is the line.
	Message string
}

type logBuffer struct {
	lines []LogLine
	seq   int64
	max   int
}

func (b *logBuffer) add(l LogLine) {
	b.seq++
	l.Seq = b.seq
	b.lines = append(b.lines, l)
	if len(b.lines) > b.max {
		b.lines = append([]LogLine(nil), b.lines[len(b.lines)-b.max:]...)
	}
}

// appLog appends a line to m's app log. s.mu must be held.
func (s *Server) appLog(m *machine, level, provider, msg string) {
	m.app.logs.add(LogLine{Time: s.now(), Machine: m.id, Region: m.region, Level: level, Provider: provider, Message: msg})
	if w := s.opts.MachineOutput; w != nil {
		fmt.Fprintf(w, "%s/%s: %s\n", m.app.name, m.id, msg)
	}
}

// runnerLog appends a line of Fly's machine runner. s.mu must be held.
func (s *Server) runnerLog(m *machine, level, msg string) {
	s.appLog(m, level, "runner", msg)
}

// Logs returns the log lines of app (of one machine when machineID is not
// empty), oldest first.
func (s *Server) Logs(appName, machineID string) []LogLine {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appName]
	if !ok {
		return nil
	}
	var out []LogLine
	for _, l := range a.logs.lines {
		if machineID == "" || l.Machine == machineID {
			out = append(out, l)
		}
	}
	return out
}

const logsPageSize = 100

// handleLogs serves GET /api/v1/apps/{app}/logs, the endpoint fly-go's
// GetAppLogs calls: `next_token` pages forward, `instance` and `region`
// filter. Without a token it returns the latest lines.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	a, ok := s.apps[r.PathValue("app")]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "app not found")
		return
	}
	q := r.URL.Query()
	instance, region := q.Get("instance"), q.Get("region")
	token, _ := strconv.ParseInt(q.Get("next_token"), 10, 64)
	var match []LogLine
	for _, l := range a.logs.lines {
		if (instance == "" || l.Machine == instance) && (region == "" || l.Region == region) && l.Seq > token {
			match = append(match, l)
		}
	}
	s.mu.Unlock()
	if token == 0 && len(match) > logsPageSize {
		match = match[len(match)-logsPageSize:]
	} else if len(match) > logsPageSize {
		match = match[:logsPageSize]
	}
	next := token
	type meta struct {
		Instance string `json:"instance"`
		Region   string `json:"region"`
		Event    struct {
			Provider string `json:"provider"`
		} `json:"event"`
	}
	type attrs struct {
		Timestamp string `json:"timestamp"`
		Message   string `json:"message"`
		Level     string `json:"level"`
		Instance  string `json:"instance"`
		Region    string `json:"region"`
		Meta      meta   `json:"meta"`
	}
	type entry struct {
		ID         string `json:"id"`
		Type       string `json:"type"`
		Attributes attrs  `json:"attributes"`
	}
	data := make([]entry, 0, len(match))
	for _, l := range match {
		e := entry{ID: strconv.FormatInt(l.Seq, 10), Type: "logs", Attributes: attrs{
			Timestamp: l.Time.Format(time.RFC3339Nano), Message: l.Message, Level: l.Level,
			Instance: l.Machine, Region: l.Region,
			Meta: meta{Instance: l.Machine, Region: l.Region},
		}}
		e.Attributes.Meta.Event.Provider = l.Provider
		data = append(data, e)
		next = l.Seq
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data": data,
		"meta": map[string]string{"next_token": strconv.FormatInt(next, 10)},
	})
}
