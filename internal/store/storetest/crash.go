package storetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/store"
)

// The crash child learns its role and its store from the environment.
const (
	envCrashTest = "STORETEST_CRASH_TEST" // the test that must act as the child
	envCrashURL  = "STORETEST_CRASH_DATABASE_URL"
	envCrashPath = "STORETEST_CRASH_STATE_PATH"
)

// crashAcks is how many acknowledged enqueues the parent waits for before
// it kills the child.
const crashAcks = 150

// RunCrash checks that a SIGKILL loses nothing acknowledged. It re-executes
// the test binary as a child that enqueues, claims and finishes jobs in a
// loop, printing a line after each call returns (the moment the bot would
// answer 202 or act); the parent kills it with SIGKILL mid-way, reopens the
// store, and checks that every acknowledged job is there, that every
// claimed, unfinished one is listed by Unfinished as running, and that a
// redelivery of an acknowledged delivery is still refused.
//
// The test calling RunCrash must reach it again when run as the child (the
// child runs only that test, selected by -test.run).
func RunCrash(t *testing.T, newStore NewFunc) {
	if os.Getenv(envCrashTest) == t.Name() {
		crashChild(t, os.Getenv(envCrashURL), os.Getenv(envCrashPath))
		return
	}
	url, path := newStore(t)
	// Create the schema first, so the child spends its life on jobs.
	Open(t, url, path).Close()

	cmd := exec.Command(os.Args[0], "-test.run="+runPattern(t.Name()), "-test.count=1", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), envCrashTest+"="+t.Name(), envCrashURL+"="+url, envCrashPath+"="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start crash child: %v", err)
	}
	killed := false
	deadline := time.AfterFunc(2*time.Minute, func() { cmd.Process.Kill() })
	defer deadline.Stop()

	acked := map[int64]string{} // job id → delivery id: Enqueue returned
	claimed := map[int64]bool{} // Claim returned the job as running
	done := map[int64]bool{}    // Update to done returned
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var id int64
		var delivery string
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "storetest-ack "):
			if _, err := fmt.Sscanf(line, "storetest-ack %d %s", &id, &delivery); err != nil {
				t.Fatalf("child line %q: %v", line, err)
			}
			acked[id] = delivery
		case strings.HasPrefix(line, "storetest-claim "):
			fmt.Sscanf(line, "storetest-claim %d", &id)
			claimed[id] = true
		case strings.HasPrefix(line, "storetest-done "):
			fmt.Sscanf(line, "storetest-done %d", &id)
			done[id] = true
		}
		if !killed && len(acked) >= crashAcks {
			// Mid-way: the child is between calls or inside one.
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill child: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if !killed || !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed mid-way by SIGKILL (after %d acks): %v\nchild stderr:\n%s", len(acked), err, stderr.String())
	}
	t.Logf("child killed after %d acknowledged enqueues, %d claims, %d finished", len(acked), len(claimed), len(done))

	ctx := context.Background()
	s := Open(t, url, path)
	unfinished, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[int64]store.JobState{}
	for _, j := range unfinished {
		listed[j.ID] = j.State
	}
	lost := 0
	for id, delivery := range acked {
		j, err := s.Get(ctx, id)
		if err != nil || j.DeliveryID != delivery {
			lost++
			t.Errorf("acknowledged job %d (delivery %s) after the crash: %+v, %v", id, delivery, j, err)
			continue
		}
		switch {
		case done[id] && j.State != store.JobDone:
			t.Errorf("job %d was finished before the crash but is %s", id, j.State)
		case claimed[id] && j.State != store.JobRunning && j.State != store.JobDone:
			// Done is possible: its Update may have committed in the
			// instant before the kill.
			t.Errorf("job %d was claimed before the crash but is %s", id, j.State)
		}
		if (j.State == store.JobRunning || j.State == store.JobQueued) && listed[id] != j.State {
			t.Errorf("job %d, %s after the crash, is not listed by Unfinished", id, j.State)
		}
		if _, err := s.Enqueue(ctx, job(delivery)); !errors.Is(err, store.ErrDuplicate) {
			t.Errorf("redelivery of acknowledged %s after the crash: error %v, want ErrDuplicate", delivery, err)
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged jobs lost", lost, len(acked))
	}
	// The store still works: what was queued can be claimed.
	if _, err := s.Claim(ctx, "after-crash"); err != nil {
		t.Errorf("Claim after the crash: %v", err)
	}
}

// crashChild is the process RunCrash kills: it works until it dies.
func crashChild(t *testing.T, url, path string) {
	ctx := context.Background()
	s, err := store.Open(ctx, url, path)
	if err != nil {
		t.Fatalf("crash child: open: %v", err)
	}
	for i := 0; ; i++ {
		j, err := s.Enqueue(ctx, job(fmt.Sprintf("crash-%d", i)))
		if err != nil {
			t.Fatalf("crash child: enqueue: %v", err)
		}
		fmt.Printf("storetest-ack %d %s\n", j.ID, j.DeliveryID)
		if i%2 == 1 {
			c, err := s.Claim(ctx, "crash-child")
			if err != nil || c == nil {
				t.Fatalf("crash child: claim: %v, %v", c, err)
			}
			fmt.Printf("storetest-claim %d\n", c.ID)
			if i%4 == 1 {
				c.State = store.JobDone
				if err := s.Update(ctx, c); err != nil {
					t.Fatalf("crash child: update: %v", err)
				}
				fmt.Printf("storetest-done %d\n", c.ID)
			}
		}
	}
}

// runPattern is the -test.run pattern that selects exactly the test name.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
