// Package lease holds Fly machine leases for the length of a deploy.
//
// A lease is the Machines API's lock on a machine: while deploy-action holds
// it, no other deploy (or `fly machine update`) can change the machine, and
// every change deploy-action makes carries the lease's nonce. Acquire takes
// the leases of a set of machines within a deadline (fly-go's AcquireLease
// retries a 409 for a whole minute on its own), a goroutine refreshes them
// until Release, and Release gives them back with a fresh, short context so
// that it works after the deploy's context has been cancelled by a signal.
package lease

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	flygo "github.com/superfly/fly-go"

	"github.com/grupo-gad/deploy-action/internal/fly"
)

// Client is the part of the Machines API this package calls. When it also
// has FindLease (fly.Machines does), a lease that could not be acquired is
// looked up to say who holds it.
type Client interface {
	AcquireLease(ctx context.Context, app, machineID string, ttl *int) (*flygo.MachineLease, error)
	RefreshLease(ctx context.Context, app, machineID string, ttl *int, nonce string) (*flygo.MachineLease, error)
	ReleaseLease(ctx context.Context, app, machineID, nonce string) error
}

type finder interface {
	FindLease(ctx context.Context, app, machineID string) (*flygo.MachineLease, error)
}

// Defaults of Options.
const (
	DefaultTTL            = 30 * time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultReleaseTimeout = 5 * time.Second
)

// Options tunes a Set. The zero value uses the defaults above and refreshes
// every TTL/3.
type Options struct {
	// TTL is how long each lease lasts without a refresh (whole seconds).
	// A deploy killed outright leaves its leases behind for at most this.
	TTL time.Duration
	// Timeout bounds the acquisition of all the leases.
	Timeout time.Duration
	// RefreshEvery is the time between refreshes.
	RefreshEvery time.Duration
	// ReleaseTimeout bounds Release.
	ReleaseTimeout time.Duration
	// OnRefreshError, when set, is told about each failed refresh.
	OnRefreshError func(machineID string, err error)
}

func (o Options) withDefaults() Options {
	if o.TTL < time.Second {
		o.TTL = DefaultTTL
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RefreshEvery <= 0 {
		o.RefreshEvery = o.TTL / 3
	}
	if o.ReleaseTimeout <= 0 {
		o.ReleaseTimeout = DefaultReleaseTimeout
	}
	return o
}

// HeldError says that a machine's lease could not be acquired because
// someone else holds it.
type HeldError struct {
	MachineID string
	// Owner and ExpiresAt describe the other holder when the API told them.
	Owner     string
	ExpiresAt time.Time
	// Waited is how long acquisition tried.
	Waited time.Duration
	Err    error
}

// Error says what failed.
func (e *HeldError) Error() string {
	s := fmt.Sprintf("machine %s is leased by someone else", e.MachineID)
	if e.Owner != "" {
		s += " (" + e.Owner
		if !e.ExpiresAt.IsZero() {
			s += ", until " + e.ExpiresAt.UTC().Format(time.RFC3339)
		}
		s += ")"
	}
	return s + fmt.Sprintf("; gave up after %s", e.Waited.Round(100*time.Millisecond))
}

// Unwrap returns the underlying error.
func (e *HeldError) Unwrap() error { return e.Err }

// Set is the leases held on a group of machines. Its methods are safe for
// concurrent use.
type Set struct {
	c   Client
	app string
	opt Options

	mu     sync.Mutex
	nonces map[string]string
	lost   error

	stop    context.CancelFunc
	done    chan struct{}
	once    sync.Once
	release error
}

// Acquire takes the lease of every machine in ids, all within opt.Timeout,
// and starts refreshing them. On failure it gives back the leases it took
// and returns a *HeldError when a lease is held by someone else, or the
// API's error. The refreshes do not stop when ctx ends: call Release.
func Acquire(ctx context.Context, c Client, app string, ids []string, opt Options) (*Set, error) {
	opt = opt.withDefaults()
	s := &Set{c: c, app: app, opt: opt, nonces: map[string]string{}, done: make(chan struct{})}
	actx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	start := time.Now()
	ttl := int(opt.TTL / time.Second)
	for _, id := range ids {
		l, err := c.AcquireLease(actx, app, id, &ttl)
		if err == nil {
			err = check(l)
		}
		if err != nil {
			close(s.done)
			_ = s.releaseAll()
			return nil, s.explain(ctx, id, time.Since(start), err)
		}
		s.nonces[id] = l.Data.Nonce
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = stop
	go s.refresh(rctx)
	return s, nil
}

func check(l *flygo.MachineLease) error {
	switch {
	case l == nil:
		return errors.New("empty lease response")
	case l.Status != "" && l.Status != "success":
		return fmt.Errorf("lease not granted: status %q, code %q: %s", l.Status, l.Code, l.Message)
	case l.Data == nil || l.Data.Nonce == "":
		return errors.New("lease response has no nonce")
	}
	return nil
}

// explain turns an acquisition failure into a HeldError when the machine
// is leased by someone else.
func (s *Set) explain(ctx context.Context, id string, waited time.Duration, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("acquire lease on %s: %w", id, ctx.Err())
	}
	timedOut := errors.Is(err, context.DeadlineExceeded)
	if !timedOut && !fly.IsConflict(err) {
		return fmt.Errorf("acquire lease on %s: %w", id, err)
	}
	he := &HeldError{MachineID: id, Waited: waited, Err: err}
	if f, ok := s.c.(finder); ok {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
		defer cancel()
		if l, ferr := f.FindLease(fctx, s.app, id); ferr == nil && l != nil && l.Data != nil {
			he.Owner = l.Data.Owner
			if l.Data.ExpiresAt > 0 {
				he.ExpiresAt = time.Unix(l.Data.ExpiresAt, 0)
			}
		}
	}
	return he
}

// Nonce returns the nonce of the machine's lease, "" when the set does not
// hold it.
func (s *Set) Nonce(machineID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nonces[machineID]
}

// IDs returns the machines whose leases the set holds, sorted.
func (s *Set) IDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.nonces))
	for id := range s.nonces {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// Err returns the first lease lost since Acquire (a refresh answered 409 or
// 404: someone else took the machine, or it is gone), or nil.
func (s *Set) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

func (s *Set) refresh(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(s.opt.RefreshEvery)
	defer t.Stop()
	ttl := int(s.opt.TTL / time.Second)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, id := range s.IDs() {
			nonce := s.Nonce(id)
			cctx, cancel := context.WithTimeout(ctx, s.opt.RefreshEvery)
			l, err := s.c.RefreshLease(cctx, s.app, id, &ttl, nonce)
			cancel()
			if err == nil {
				err = check(l)
			}
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				continue
			}
			if fly.IsConflict(err) || fly.IsNotFound(err) {
				s.mu.Lock()
				if s.lost == nil {
					s.lost = fmt.Errorf("lease on machine %s lost: %w", id, err)
				}
				s.mu.Unlock()
			}
			if s.opt.OnRefreshError != nil {
				s.opt.OnRefreshError(id, err)
			}
		}
	}
}

// Release stops the refreshes and gives back every lease, with a context of
// its own bounded by Options.ReleaseTimeout, so it works on every path:
// after an error, a panic (call it in a defer) or a cancelled context. It is
// safe to call more than once; later calls return the first result. A
// machine that no longer exists is not an error.
func (s *Set) Release() error {
	s.once.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		<-s.done
		s.release = s.releaseAll()
	})
	return s.release
}

func (s *Set) releaseAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.opt.ReleaseTimeout)
	defer cancel()
	s.mu.Lock()
	held := s.nonces
	s.nonces = map[string]string{}
	s.mu.Unlock()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for id, nonce := range held {
		wg.Go(func() {
			err := s.c.ReleaseLease(ctx, s.app, id, nonce)
			if err != nil && !fly.IsNotFound(err) {
				mu.Lock()
				errs = append(errs, fmt.Errorf("release lease on %s: %w", id, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
