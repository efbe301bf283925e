package deploy

import (
	"fmt"
	"strings"
	"time"

	"github.com/grupo-gad/deploy-action/internal/fly/release"
	"github.com/grupo-gad/deploy-action/internal/report"
)

// Step names a step of a deploy, for progress events and failures.
type Step string

// The steps, in the order a machine goes through them.
const (
	StepPlan    Step = "plan"    // reading the plan and the app's machines
	StepLease   Step = "lease"   // acquiring the machines' leases
	StepRelease Step = "release" // the release_command machine
	StepUpdate  Step = "update"  // applying the new config to a machine
	StepStart   Step = "start"   // waiting for the machine to be started
	StepSmoke   Step = "smoke"   // the machine must stay up for the smoke window
	StepChecks  Step = "checks"  // waiting for every health check to pass
	StepRestore Step = "restore" // putting a machine back on its snapshot
	StepDone    Step = "done"
)

// Timings are how long each step of one machine took.
type Timings struct {
	Update  time.Duration `json:"update"`
	Start   time.Duration `json:"start"`
	Smoke   time.Duration `json:"smoke"`
	Checks  time.Duration `json:"checks"`
	Total   time.Duration `json:"total"`
	Restore time.Duration `json:"restore,omitempty"`
}

// MachineResult is what happened to one machine.
type MachineResult struct {
	ID     string `json:"id"`
	Region string `json:"region"`
	Group  string `json:"process_group"`
	// FromImage is the image before the deploy; ToImage the one deployed.
	FromImage string `json:"from_image"`
	ToImage   string `json:"to_image"`
	// WasStarted reports the machine was started before the deploy.
	// Stopped machines are updated without being started (they start on
	// the next request), so they are not verified.
	WasStarted bool `json:"was_started"`
	// Updated reports that the new config was applied.
	Updated bool `json:"updated"`
	// Verified reports that the machine started, stayed up for the smoke
	// window and passed its checks on the new config.
	Verified bool `json:"verified"`
	// Restored reports that the machine was put back on its snapshot.
	Restored bool `json:"restored"`
	// RestoreError says why restoring it failed, if it did.
	RestoreError string  `json:"restore_error,omitempty"`
	Timings      Timings `json:"timings"`
}

// Result is what a deploy did. Deploy and Rollback always return one.
type Result struct {
	App string `json:"app"`
	// Image is the image deployed; PreviousImage the one most machines ran
	// before.
	Image         string   `json:"image"`
	PreviousImage string   `json:"previous_image"`
	Strategy      Strategy `json:"strategy"`
	// Batches lists the machine IDs of each batch, in order.
	Batches  [][]string      `json:"batches"`
	Release  *release.Result `json:"release,omitempty"`
	Machines []MachineResult `json:"machines"`
	// Failure is why the deploy failed (nil on success).
	Failure *Failure `json:"failure,omitempty"`
	// RolledBack reports that the machines the deploy changed were all put
	// back on their snapshot.
	RolledBack bool `json:"rolled_back"`
	// Interrupted reports that the context was cancelled (a signal).
	Interrupted bool `json:"interrupted"`
	// Started and Duration time the whole deploy; FailedAt is when the
	// failure was seen, RestoredAt when the restore finished.
	Started    time.Time     `json:"started"`
	Duration   time.Duration `json:"duration"`
	FailedAt   time.Time     `json:"failed_at,omitzero"`
	RestoredAt time.Time     `json:"restored_at,omitzero"`
}

// Succeeded reports that every machine runs the new image and passed its
// checks (stopped machines excepted).
func (r *Result) Succeeded() bool { return r != nil && r.Failure == nil && !r.Interrupted }

// Updated returns the machines that got the new config and kept it.
func (r *Result) Updated() []string {
	var ids []string
	for _, m := range r.Machines {
		if m.Updated && !m.Restored {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// Failure says which step of which machine failed, and why. It is the
// error Deploy and Rollback return when a deploy fails.
type Failure struct {
	Phase     report.PhaseName `json:"phase"`
	Step      Step             `json:"step"`
	MachineID string           `json:"machine_id,omitempty"`
	// Exit is how the machine's process ended, when it crashed.
	Exit *ExitInfo `json:"exit,omitempty"`
	// Check is the failing health check, when checks did not pass.
	Check *CheckInfo `json:"check,omitempty"`
	// LogTail is the machine's last log lines (secrets masked).
	LogTail []string `json:"log_tail,omitempty"`
	// Listen lists the addresses the machine's processes listen on, when
	// its checks failed (to spot an app bound to 127.0.0.1).
	Listen []string `json:"listen,omitempty"`
	Err    error    `json:"-"`
	// Message is Err as text, for JSON.
	Message string `json:"message"`
}

// ExitInfo is a machine process's exit.
type ExitInfo struct {
	Code      int           `json:"code"`
	OOMKilled bool          `json:"oom_killed"`
	Signal    int           `json:"signal,omitempty"`
	After     time.Duration `json:"after"` // time from start to exit
}

// CheckInfo is a health check that did not pass.
type CheckInfo struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Output string `json:"output"`
	// Passing and Total count the machine's checks.
	Passing int `json:"passing"`
	Total   int `json:"total"`
}

// Error says what failed.
func (f *Failure) Error() string {
	var b strings.Builder
	if f.MachineID != "" {
		fmt.Fprintf(&b, "machine %s: ", f.MachineID)
	}
	fmt.Fprintf(&b, "%s failed", f.Step)
	switch {
	case f.Exit != nil && f.Exit.OOMKilled:
		fmt.Fprintf(&b, ": out of memory (OOM killed, exit code %d)", f.Exit.Code)
	case f.Exit != nil:
		fmt.Fprintf(&b, ": exited with code %d", f.Exit.Code)
	case f.Check != nil:
		fmt.Fprintf(&b, ": check %s is %s (%d/%d passing)", f.Check.Name, f.Check.Status, f.Check.Passing, f.Check.Total)
	}
	if f.Err != nil {
		fmt.Fprintf(&b, ": %v", f.Err)
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (f *Failure) Unwrap() error { return f.Err }

// Event is a progress report, for a person watching the deploy.
type Event struct {
	Time      time.Time        `json:"time"`
	Phase     report.PhaseName `json:"phase"`
	Step      Step             `json:"step"`
	MachineID string           `json:"machine_id,omitempty"`
	Message   string           `json:"message"`
}
