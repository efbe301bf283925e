// Package storetest is the test suite every store.Store implementation
// passes: the same behaviour, checked the same way, for SQLite and
// PostgreSQL. A test of an implementation calls Run with a NewFunc that
// makes a fresh, empty store location; benchmarks call BenchmarkEnqueue.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/grupo-gad/deploy-action/internal/store"
)

// NewFunc prepares a fresh, empty store location and returns the arguments
// that store.Open takes to open it; every Open of them sees the same data.
// It registers the location's removal with tb.Cleanup, and skips or fails
// tb when the backend is unavailable.
type NewFunc func(tb testing.TB) (databaseURL, statePath string)

// Open opens the store at a location made by a NewFunc and closes it when
// tb ends (closing twice is harmless for the suite's stores).
func Open(tb testing.TB, databaseURL, statePath string) store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), databaseURL, statePath)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// Run runs the whole suite against the stores newStore makes: parallel
// subtests, each with a fresh store.
func Run(t *testing.T, newStore NewFunc) {
	tests := []struct {
		name string
		run  func(t *testing.T, newStore NewFunc)
	}{
		{"EnqueueGet", testEnqueueGet},
		{"EnqueueDuplicate", testEnqueueDuplicate},
		{"EnqueueConcurrentDuplicate", testEnqueueConcurrentDuplicate},
		{"EnqueueInvalid", testEnqueueInvalid},
		{"ClaimOrder", testClaimOrder},
		{"ClaimConcurrent", testClaimConcurrent},
		{"Update", testUpdate},
		{"UnfinishedAfterCrash", testUnfinishedAfterCrash},
		{"LockApp", testLockApp},
		{"LockAppConcurrent", testLockAppConcurrent},
		{"NextWaiting", testNextWaiting},
		{"StickyComment", testStickyComment},
		{"AuditLog", testAuditLog},
		{"Recent", testRecent},
		{"FindByRun", testFindByRun},
		{"Durability", testDurability},
		{"ConcurrentOpen", testConcurrentOpen},
		{"UseAfterClose", testUseAfterClose},
		{"CrashSIGKILL", RunCrash},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each subtest has a store of its own
			tt.run(t, newStore)
		})
	}
}

// fresh opens a new, empty store for one subtest.
func fresh(t *testing.T, newStore NewFunc) store.Store {
	t.Helper()
	url, path := newStore(t)
	return Open(t, url, path)
}

// job returns a job as the bot would enqueue it for delivery.
func job(delivery string) *store.Job {
	return &store.Job{
		DeliveryID:   delivery,
		Installation: 4242,
		Owner:        "grupo-gad",
		Repo:         "api",
		PR:           17,
		CommentID:    9001,
		Sender:       "octocat",
		Command:      "deploy",
		Args:         []string{"staging"},
		Environment:  "staging",
		App:          "grupo-gad-staging",
		SHA:          "0123456789abcdef0123456789abcdef01234567",
	}
}

// mustEnqueue enqueues j and fails the test on error.
func mustEnqueue(t testing.TB, s store.Store, j *store.Job) *store.Job {
	t.Helper()
	got, err := s.Enqueue(context.Background(), j)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", j.DeliveryID, err)
	}
	return got
}

// ids lists the ids of jobs, for readable comparisons.
func ids(jobs []*store.Job) []int64 {
	out := []int64{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func testEnqueueGet(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	in := job("d-1")
	before := *in
	start := time.Now().Add(-time.Second)
	got := mustEnqueue(t, s, in)
	if !reflect.DeepEqual(*in, before) {
		t.Errorf("Enqueue modified its argument: %+v, was %+v", *in, before)
	}
	if got.ID == 0 || got.State != store.JobQueued || got.CreatedAt.Before(start) || !got.UpdatedAt.Equal(got.CreatedAt) {
		t.Errorf("Enqueue = %+v, want an ID, state queued and CreatedAt = UpdatedAt ≈ now", got)
	}
	read, err := s.Get(ctx, got.ID)
	if err != nil {
		t.Fatalf("Get(%d): %v", got.ID, err)
	}
	if !reflect.DeepEqual(read, got) {
		t.Errorf("Get(%d) =\n%+v\nwant (as Enqueue returned)\n%+v", got.ID, read, got)
	}
	want := before
	want.ID, want.State, want.CreatedAt, want.UpdatedAt = got.ID, store.JobQueued, got.CreatedAt, got.UpdatedAt
	if !reflect.DeepEqual(read, &want) {
		t.Errorf("Get(%d) =\n%+v\nwant the enqueued fields\n%+v", got.ID, read, &want)
	}
	if _, err := s.Get(ctx, got.ID+1000); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(unknown) error = %v, want ErrNotFound", err)
	}

	// A job without arguments reads back with nil Args on every backend; a
	// job may be enqueued directly as waiting.
	bare := &store.Job{DeliveryID: "d-2", Owner: "o", Repo: "r", Command: "help", State: store.JobWaiting}
	b := mustEnqueue(t, s, bare)
	if read, err := s.Get(ctx, b.ID); err != nil || read.Args != nil || read.State != store.JobWaiting {
		t.Errorf("Get(bare) = %+v, %v; want nil Args and state waiting", read, err)
	}
}

func testEnqueueDuplicate(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	first := mustEnqueue(t, s, job("dup"))
	if _, err := s.Enqueue(ctx, job("dup")); !errors.Is(err, store.ErrDuplicate) {
		t.Fatalf("second Enqueue of one delivery: error = %v, want ErrDuplicate", err)
	}
	// An empty delivery id is not a de-duplication key.
	for i := 0; i < 2; i++ {
		mustEnqueue(t, s, job(""))
	}
	jobs, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || jobs[0].ID != first.ID {
		t.Errorf("Unfinished = %v, want 3 jobs starting with %d", ids(jobs), first.ID)
	}
}

func testEnqueueConcurrentDuplicate(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	const n = 8
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		winners, dupes  int
		others          []error
		start           = make(chan struct{})
		enqueuedWinners []*store.Job
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			j, err := s.Enqueue(ctx, job("same-delivery"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				winners++
				enqueuedWinners = append(enqueuedWinners, j)
			case errors.Is(err, store.ErrDuplicate):
				dupes++
			default:
				others = append(others, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if winners != 1 || dupes != n-1 || len(others) > 0 {
		t.Fatalf("%d concurrent Enqueues of one delivery: %d winners, %d duplicates, errors %v; want 1, %d, none",
			n, winners, dupes, others, n-1)
	}
	jobs, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 1 || jobs[0].ID != enqueuedWinners[0].ID {
		t.Errorf("Unfinished = %v, want only the winner %d", ids(jobs), enqueuedWinners[0].ID)
	}
}

func testEnqueueInvalid(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	j := job("bad-state")
	j.State = "sleeping"
	if _, err := s.Enqueue(ctx, j); err == nil {
		t.Error("Enqueue with state sleeping succeeded, want an error")
	}
	if _, err := s.Enqueue(ctx, nil); err == nil {
		t.Error("Enqueue(nil) succeeded, want an error")
	}
}

func testClaimOrder(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	if j, err := s.Claim(ctx, "w"); j != nil || err != nil {
		t.Fatalf("Claim on an empty queue = %v, %v; want nil, nil", j, err)
	}
	waiting := job("waiting")
	waiting.State = store.JobWaiting
	mustEnqueue(t, s, waiting)
	a := mustEnqueue(t, s, job("a"))
	b := mustEnqueue(t, s, job("b"))
	var first *store.Job
	for _, want := range []*store.Job{a, b} {
		got, err := s.Claim(ctx, "worker-1")
		if err != nil {
			t.Fatalf("Claim: %v", err)
		}
		if got == nil || got.ID != want.ID || got.State != store.JobRunning || got.Worker != "worker-1" || got.Attempts != 1 {
			t.Fatalf("Claim = %+v, want job %d running, worker-1, 1 attempt", got, want.ID)
		}
		if read, _ := s.Get(ctx, want.ID); read.State != store.JobRunning || read.Worker != "worker-1" {
			t.Errorf("after Claim, Get(%d) = %+v, want running by worker-1", want.ID, read)
		}
		if first == nil {
			first = got
		}
	}
	if j, err := s.Claim(ctx, "w"); j != nil || err != nil {
		t.Errorf("Claim with only a waiting job left = %+v, %v; want nil, nil", j, err)
	}
	// A job put back in the queue is claimed again and counts a second attempt.
	first.State = store.JobQueued
	if err := s.Update(ctx, first); err != nil {
		t.Fatal(err)
	}
	again, err := s.Claim(ctx, "worker-2")
	if err != nil || again == nil || again.ID != a.ID || again.Attempts != 2 || again.Worker != "worker-2" {
		t.Errorf("re-Claim = %+v, %v; want job %d, 2 attempts, worker-2", again, err, a.ID)
	}
}

func testClaimConcurrent(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	const workers, jobs = 8, 120
	for i := 0; i < jobs; i++ {
		mustEnqueue(t, s, job(fmt.Sprintf("c-%d", i)))
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[int64]string{}
		errs    []error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("worker-%d", w)
			for {
				j, err := s.Claim(ctx, name)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if j != nil {
					if prev, dup := claimed[j.ID]; dup {
						errs = append(errs, fmt.Errorf("job %d claimed by %s and %s", j.ID, prev, name))
					}
					claimed[j.ID] = name
				}
				mu.Unlock()
				if err != nil || j == nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("concurrent Claim: %v", errors.Join(errs...))
	}
	if len(claimed) != jobs {
		t.Errorf("%d workers claimed %d distinct jobs, want %d", workers, len(claimed), jobs)
	}
	left, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range left {
		if j.State != store.JobRunning || claimed[j.ID] != j.Worker {
			t.Errorf("job %d: state %s worker %q, want running by %q", j.ID, j.State, j.Worker, claimed[j.ID])
		}
	}
}

func testUpdate(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	j := mustEnqueue(t, s, job("u"))
	created := j.CreatedAt
	j.State, j.Attempts, j.Result, j.RunID = store.JobDone, 3, `{"conclusion":"success"}`, 777
	j.Environment, j.App, j.SHA = "production", "grupo-gad", "fedcba9876543210fedcba9876543210fedcba98"
	j.Owner, j.Command = "someone-else", "rollback" // not updatable: ignored
	if err := s.Update(ctx, j); err != nil {
		t.Fatalf("Update: %v", err)
	}
	got, err := s.Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.JobDone || got.Attempts != 3 || got.Result != j.Result || got.RunID != 777 ||
		got.Environment != "production" || got.App != "grupo-gad" || got.SHA != j.SHA {
		t.Errorf("after Update, Get = %+v; want the updated state, attempts, result, run id, environment, app, sha", got)
	}
	if got.Owner != "grupo-gad" || got.Command != "deploy" || !got.CreatedAt.Equal(created) {
		t.Errorf("Update changed owner, command or created_at: %+v", got)
	}
	if !got.UpdatedAt.Equal(j.UpdatedAt) || got.UpdatedAt.Before(created) {
		t.Errorf("UpdatedAt = %v, j.UpdatedAt = %v; want equal and not before %v", got.UpdatedAt, j.UpdatedAt, created)
	}
	if err := s.Update(ctx, &store.Job{ID: j.ID + 1000, State: store.JobDone}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Update(unknown) error = %v, want ErrNotFound", err)
	}
	if err := s.Update(ctx, &store.Job{ID: j.ID, State: "sleeping"}); err == nil {
		t.Error("Update to state sleeping succeeded, want an error")
	}
}

func testUnfinishedAfterCrash(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	url, path := newStore(t)
	s := Open(t, url, path)
	a := mustEnqueue(t, s, job("a"))
	b := mustEnqueue(t, s, job("b"))
	c := mustEnqueue(t, s, job("c"))
	w := job("w")
	w.State = store.JobWaiting
	w = mustEnqueue(t, s, w)
	if j, err := s.Claim(ctx, "old-process"); err != nil || j.ID != a.ID {
		t.Fatalf("Claim = %v, %v", j, err)
	}
	c.State = store.JobDone
	if err := s.Update(ctx, c); err != nil {
		t.Fatal(err)
	}
	// The process dies with a left running; a new one opens the store.
	s.Close()
	s = Open(t, url, path)
	left, err := s.Unfinished(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{a.ID, b.ID, w.ID}; !reflect.DeepEqual(ids(left), want) {
		t.Fatalf("Unfinished = %v, want %v (running, queued, waiting; oldest first; not the done one)", ids(left), want)
	}
	if left[0].State != store.JobRunning || left[0].Worker != "old-process" || left[1].State != store.JobQueued || left[2].State != store.JobWaiting {
		t.Errorf("Unfinished states = %s/%q, %s, %s; want running/old-process, queued, waiting",
			left[0].State, left[0].Worker, left[1].State, left[2].State)
	}
}

func testLockApp(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	j1 := mustEnqueue(t, s, job("l1"))
	j2 := mustEnqueue(t, s, job("l2"))
	j3 := mustEnqueue(t, s, job("l3"))
	lock := func(app string, j *store.Job, want bool) {
		t.Helper()
		got, err := s.LockApp(ctx, app, j.ID)
		if err != nil || got != want {
			t.Fatalf("LockApp(%s, job %d) = %v, %v; want %v", app, j.ID, got, err, want)
		}
	}
	unlock := func(app string, j *store.Job) {
		t.Helper()
		if err := s.UnlockApp(ctx, app, j.ID); err != nil {
			t.Fatalf("UnlockApp(%s, job %d): %v", app, j.ID, err)
		}
	}
	lock("app", j1, true)
	lock("app", j2, false)
	lock("app", j1, true)   // the holder again: still its lock
	lock("other", j2, true) // apps are independent
	unlock("app", j2)       // not the holder: no effect
	lock("app", j3, false)
	unlock("app", j1)
	lock("app", j2, true)
	unlock("app", j1) // no longer the holder: no effect
	lock("app", j3, false)

	// The holder finishes but the process dies before UnlockApp: the lock
	// is free for the next job rather than held forever.
	j2.State = store.JobFailed
	if err := s.Update(ctx, j2); err != nil {
		t.Fatal(err)
	}
	lock("app", j3, true)
	lock("app", j1, false)

	if _, err := s.LockApp(ctx, "app2", 999999); err == nil {
		t.Error("LockApp for a job that does not exist succeeded, want an error")
	}
}

func testLockAppConcurrent(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	const n = 8
	var jobs []*store.Job
	for i := 0; i < n; i++ {
		jobs = append(jobs, mustEnqueue(t, s, job(fmt.Sprintf("lc-%d", i))))
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		won   []int64
		errs  []error
		start = make(chan struct{})
	)
	for _, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := s.LockApp(ctx, "contended", j.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			}
			if ok {
				won = append(won, j.ID)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(errs) > 0 || len(won) != 1 {
		t.Fatalf("%d concurrent LockApp of one app: winners %v, errors %v; want exactly one winner", n, won, errs)
	}
}

func testNextWaiting(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	if j, err := s.NextWaiting(ctx, "app"); j != nil || err != nil {
		t.Fatalf("NextWaiting with no jobs = %v, %v; want nil, nil", j, err)
	}
	enqueue := func(delivery, app string, state store.JobState) *store.Job {
		j := job(delivery)
		j.App, j.State = app, state
		return mustEnqueue(t, s, j)
	}
	enqueue("q", "app", store.JobQueued)
	w1 := enqueue("w1", "app", store.JobWaiting)
	enqueue("wb", "other", store.JobWaiting)
	w2 := enqueue("w2", "app", store.JobWaiting)
	for _, want := range []*store.Job{w1, w2} {
		got, err := s.NextWaiting(ctx, "app")
		if err != nil || got == nil || got.ID != want.ID {
			t.Fatalf("NextWaiting(app) = %+v, %v; want job %d", got, err, want.ID)
		}
		got.State = store.JobQueued // its turn: back in the queue
		if err := s.Update(ctx, got); err != nil {
			t.Fatal(err)
		}
	}
	if j, err := s.NextWaiting(ctx, "app"); j != nil || err != nil {
		t.Errorf("NextWaiting after both left = %+v, %v; want nil, nil", j, err)
	}
}

func testStickyComment(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	get := func(pr int, env string, want int64) {
		t.Helper()
		got, err := s.StickyComment(ctx, "grupo-gad", "api", pr, env)
		if err != nil || got != want {
			t.Fatalf("StickyComment(#%d, %q) = %d, %v; want %d", pr, env, got, err, want)
		}
	}
	set := func(pr int, env string, id int64) {
		t.Helper()
		if err := s.SetStickyComment(ctx, "grupo-gad", "api", pr, env, id); err != nil {
			t.Fatalf("SetStickyComment: %v", err)
		}
	}
	get(17, "staging", 0)
	set(17, "staging", 1001)
	set(17, "production", 1002)
	set(18, "staging", 1003)
	get(17, "staging", 1001)
	get(17, "production", 1002)
	get(18, "staging", 1003)
	set(17, "staging", 2001) // the comment was deleted and posted again
	get(17, "staging", 2001)
	get(17, "", 0)
	if got, err := s.StickyComment(ctx, "grupo-gad", "web", 17, "staging"); err != nil || got != 0 {
		t.Errorf("StickyComment of another repo = %d, %v; want 0", got, err)
	}
}

func testAuditLog(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	if log, err := s.AuditLog(ctx, "grupo-gad", "api", 10); err != nil || len(log) != 0 {
		t.Fatalf("AuditLog of an empty trail = %v, %v", log, err)
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var want []store.AuditEntry
	for i := 0; i < 5; i++ {
		e := store.AuditEntry{At: at.Add(time.Duration(i) * time.Minute), JobID: int64(i + 1), Actor: "octocat",
			Repo: "grupo-gad/api", PR: 17, Action: fmt.Sprintf("step %d", i), Detail: "d"}
		if err := s.Audit(ctx, e); err != nil {
			t.Fatalf("Audit: %v", err)
		}
		want = append([]store.AuditEntry{e}, want...) // newest first
		if err := s.Audit(ctx, store.AuditEntry{At: at, Repo: "grupo-gad/web", Action: "other repo"}); err != nil {
			t.Fatal(err)
		}
	}
	// Same-time entries keep the order they were written in.
	same := store.AuditEntry{At: at, Actor: "x", Repo: "grupo-gad/api", Action: "same time as step 0"}
	if err := s.Audit(ctx, same); err != nil {
		t.Fatal(err)
	}
	want = append([]store.AuditEntry{same}, want...)
	got, err := s.AuditLog(ctx, "grupo-gad", "api", 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want[:3]) {
		t.Errorf("AuditLog(3) =\n%+v\nwant (newest first)\n%+v", got, want[:3])
	}
	if got, _ := s.AuditLog(ctx, "grupo-gad", "api", 100); len(got) != 6 {
		t.Errorf("AuditLog(100) has %d entries, want 6", len(got))
	}
	if got, _ := s.AuditLog(ctx, "grupo-gad", "api", 0); len(got) != 0 {
		t.Errorf("AuditLog(0) has %d entries, want none", len(got))
	}
	// A zero time is stamped with the current time.
	before := time.Now().Add(-time.Second)
	if err := s.Audit(ctx, store.AuditEntry{Repo: "grupo-gad/api", Action: "now"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AuditLog(ctx, "grupo-gad", "api", 1); len(got) != 1 || got[0].Action != "now" || got[0].At.Before(before) {
		t.Errorf("AuditLog(1) = %+v, want the entry stamped now", got)
	}
}

func testRecent(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	var api []*store.Job
	for i := 0; i < 4; i++ {
		api = append(api, mustEnqueue(t, s, job(fmt.Sprintf("api-%d", i))))
		other := job(fmt.Sprintf("web-%d", i))
		other.Repo = "web"
		mustEnqueue(t, s, other)
	}
	got, err := s.Recent(ctx, "grupo-gad", "api", 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{api[3].ID, api[2].ID, api[1].ID}; !reflect.DeepEqual(ids(got), want) {
		t.Errorf("Recent(3) = %v, want %v (newest first, this repo only)", ids(got), want)
	}
	if got, _ := s.Recent(ctx, "grupo-gad", "nope", 3); len(got) != 0 {
		t.Errorf("Recent of an unknown repo = %v, want none", ids(got))
	}
	if got, _ := s.Recent(ctx, "grupo-gad", "api", 0); len(got) != 0 {
		t.Errorf("Recent(0) = %v, want none", ids(got))
	}
}

func testFindByRun(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	s := fresh(t, newStore)
	a := mustEnqueue(t, s, job("a"))
	b := mustEnqueue(t, s, job("b"))
	b.RunID = 123456789012
	if err := s.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindByRun(ctx, 123456789012)
	if err != nil || got.ID != b.ID {
		t.Errorf("FindByRun = %+v, %v; want job %d", got, err, b.ID)
	}
	for _, run := range []int64{0, 42} { // a's run id is 0: "none yet", never a match
		if _, err := s.FindByRun(ctx, run); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("FindByRun(%d) error = %v, want ErrNotFound (job %d has no run)", run, err, a.ID)
		}
	}
}

func testDurability(t *testing.T, newStore NewFunc) {
	ctx := context.Background()
	url, path := newStore(t)
	s := Open(t, url, path)
	a := mustEnqueue(t, s, job("a"))
	b := mustEnqueue(t, s, job("b"))
	claimed, err := s.Claim(ctx, "w")
	if err != nil || claimed.ID != a.ID {
		t.Fatalf("Claim = %v, %v", claimed, err)
	}
	claimed.RunID = 55
	if err := s.Update(ctx, claimed); err != nil {
		t.Fatal(err)
	}
	if ok, err := s.LockApp(ctx, "app", a.ID); !ok || err != nil {
		t.Fatalf("LockApp = %v, %v", ok, err)
	}
	if err := s.SetStickyComment(ctx, "grupo-gad", "api", 17, "staging", 31337); err != nil {
		t.Fatal(err)
	}
	entry := store.AuditEntry{At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), JobID: a.ID, Actor: "octocat",
		Repo: "grupo-gad/api", PR: 17, Action: "accepted", Detail: "/deploy staging"}
	if err := s.Audit(ctx, entry); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = Open(t, url, path)
	got, err := s.Get(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, claimed) {
		t.Errorf("after reopening, Get(%d) =\n%+v\nwant\n%+v", a.ID, got, claimed)
	}
	if got, err := s.Get(ctx, b.ID); err != nil || !reflect.DeepEqual(got, b) {
		t.Errorf("after reopening, Get(%d) = %+v, %v; want %+v", b.ID, got, err, b)
	}
	if _, err := s.Enqueue(ctx, job("a")); !errors.Is(err, store.ErrDuplicate) {
		t.Errorf("after reopening, Enqueue of a seen delivery: error = %v, want ErrDuplicate", err)
	}
	if ok, err := s.LockApp(ctx, "app", b.ID); ok || err != nil {
		t.Errorf("after reopening, LockApp by another job = %v, %v; want false (the lock persisted)", ok, err)
	}
	if id, err := s.StickyComment(ctx, "grupo-gad", "api", 17, "staging"); id != 31337 || err != nil {
		t.Errorf("after reopening, StickyComment = %d, %v; want 31337", id, err)
	}
	if log, err := s.AuditLog(ctx, "grupo-gad", "api", 5); err != nil || !reflect.DeepEqual(log, []store.AuditEntry{entry}) {
		t.Errorf("after reopening, AuditLog = %+v, %v; want %+v", log, err, entry)
	}
	if found, err := s.FindByRun(ctx, 55); err != nil || found.ID != a.ID {
		t.Errorf("after reopening, FindByRun(55) = %v, %v; want job %d", found, err, a.ID)
	}
}

func testConcurrentOpen(t *testing.T, newStore NewFunc) {
	// Replicas (or a restart racing a stale process) open a new database at
	// once: the schema is migrated exactly once and every Open succeeds.
	url, path := newStore(t)
	const n = 4
	stores := make([]store.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = store.Open(context.Background(), url, path)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Errorf("concurrent Open %d: %v", i, errs[i])
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	j := mustEnqueue(t, stores[0], job("x"))
	if got, err := stores[n-1].Get(context.Background(), j.ID); err != nil || got.DeliveryID != "x" {
		t.Errorf("a job enqueued through one store is not seen by another: %v, %v", got, err)
	}
}

func testUseAfterClose(t *testing.T, newStore NewFunc) {
	s := fresh(t, newStore)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Enqueue(ctx, job("late")); err == nil || ctx.Err() != nil {
		t.Errorf("Enqueue after Close: error %v (context %v), want a prompt error", err, ctx.Err())
	}
	if _, err := s.Claim(ctx, "w"); err == nil {
		t.Error("Claim after Close succeeded, want an error")
	}
}
