package fly

import (
	"context"
	"math/rand/v2"
	"time"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
)

// RetryPolicy says how WithRetry retries a call that failed with a transient
// error (see IsTransient). The zero value makes up to 10 attempts, waiting
// 100 ms, then twice as long each time up to 2 s, with ±25 % jitter (about
// 11 s in all): enough for the 5xx bursts the Machines API has when a host
// is busy.
type RetryPolicy struct {
	// Attempts is the number of attempts, the first included.
	Attempts int
	// Initial is the wait before the second attempt; Max caps the waits.
	Initial, Max time.Duration
	// OnRetry, when set, is called before each new attempt.
	OnRetry func(op string, attempt int, err error)
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 10
	}
	if p.Initial <= 0 {
		p.Initial = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 2 * time.Second
	}
	return p
}

// WithRetry returns api with transient failures (5xx, 429, network errors)
// retried under policy p. What is retried:
//
//   - reads (GetApp, List, Get, FindLease, GetProcesses, ListAppSecrets,
//     GetAppLogs) and Wait;
//   - writes that are safe to repeat: Update (same config, same nonce),
//     Start, Stop, SetMetadata, RefreshLease, ReleaseLease, and Destroy (a
//     404 after a failed attempt means the first one worked);
//   - Launch only when the input has a Name: before each new attempt the
//     app's machines are listed and a machine of that name, created by the
//     failed attempt, is returned instead of launching a second one.
//
// AcquireLease is passed through: fly-go already retries it for up to a
// minute, so bound it with the context.
func WithRetry(api API, p RetryPolicy) API {
	return &retrying{API: api, p: p.withDefaults()}
}

type retrying struct {
	API
	p RetryPolicy
}

// do runs op until it succeeds, fails with a non-transient error, runs out of
// attempts or ctx ends; it returns op's last error.
func (r *retrying) do(ctx context.Context, name string, op func(attempt int) error) error {
	wait := r.p.Initial
	var err error
	for attempt := 1; ; attempt++ {
		err = op(attempt)
		if err == nil || !IsTransient(err) || attempt >= r.p.Attempts || ctx.Err() != nil {
			return err
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(name, attempt, err)
		}
		d := time.Duration(float64(wait) * (0.75 + 0.5*rand.Float64()))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, r.p.Max)
	}
}

func retry1[T any](r *retrying, ctx context.Context, name string, op func() (T, error)) (T, error) {
	var out T
	err := r.do(ctx, name, func(int) error {
		v, err := op()
		if err == nil {
			out = v
		}
		return err
	})
	return out, err
}

func (r *retrying) GetApp(ctx context.Context, name string) (*flaps.App, error) {
	return retry1(r, ctx, "get app", func() (*flaps.App, error) { return r.API.GetApp(ctx, name) })
}

func (r *retrying) List(ctx context.Context, app, state string) ([]*flygo.Machine, error) {
	return retry1(r, ctx, "list machines", func() ([]*flygo.Machine, error) { return r.API.List(ctx, app, state) })
}

func (r *retrying) Get(ctx context.Context, app, id string) (*flygo.Machine, error) {
	return retry1(r, ctx, "get machine", func() (*flygo.Machine, error) { return r.API.Get(ctx, app, id) })
}

func (r *retrying) FindLease(ctx context.Context, app, id string) (*flygo.MachineLease, error) {
	return retry1(r, ctx, "find lease", func() (*flygo.MachineLease, error) { return r.API.FindLease(ctx, app, id) })
}

func (r *retrying) GetProcesses(ctx context.Context, app, id string) (flygo.MachinePsResponse, error) {
	return retry1(r, ctx, "get processes", func() (flygo.MachinePsResponse, error) { return r.API.GetProcesses(ctx, app, id) })
}

func (r *retrying) ListAppSecrets(ctx context.Context, app string, version *uint64, show bool) ([]flygo.AppSecret, error) {
	return retry1(r, ctx, "list secrets", func() ([]flygo.AppSecret, error) { return r.API.ListAppSecrets(ctx, app, version, show) })
}

func (r *retrying) GetAppLogs(ctx context.Context, app, token, region, instance string) ([]flygo.LogEntry, string, error) {
	var next string
	entries, err := retry1(r, ctx, "get logs", func() ([]flygo.LogEntry, error) {
		e, n, err := r.API.GetAppLogs(ctx, app, token, region, instance)
		next = n
		return e, err
	})
	return entries, next, err
}

func (r *retrying) Wait(ctx context.Context, app string, m *flygo.Machine, state string, timeout time.Duration) error {
	return r.do(ctx, "wait", func(int) error { return r.API.Wait(ctx, app, m, state, timeout) })
}

func (r *retrying) Update(ctx context.Context, app string, in flygo.LaunchMachineInput, nonce string) (*flygo.Machine, error) {
	return retry1(r, ctx, "update machine", func() (*flygo.Machine, error) { return r.API.Update(ctx, app, in, nonce) })
}

func (r *retrying) Start(ctx context.Context, app, id, nonce string) (*flygo.MachineStartResponse, error) {
	return retry1(r, ctx, "start machine", func() (*flygo.MachineStartResponse, error) { return r.API.Start(ctx, app, id, nonce) })
}

func (r *retrying) Stop(ctx context.Context, app string, in flygo.StopMachineInput, nonce string) error {
	return r.do(ctx, "stop machine", func(int) error { return r.API.Stop(ctx, app, in, nonce) })
}

func (r *retrying) SetMetadata(ctx context.Context, app, id, key, value string) error {
	return r.do(ctx, "set metadata", func(int) error { return r.API.SetMetadata(ctx, app, id, key, value) })
}

func (r *retrying) RefreshLease(ctx context.Context, app, id string, ttl *int, nonce string) (*flygo.MachineLease, error) {
	return retry1(r, ctx, "refresh lease", func() (*flygo.MachineLease, error) { return r.API.RefreshLease(ctx, app, id, ttl, nonce) })
}

func (r *retrying) ReleaseLease(ctx context.Context, app, id, nonce string) error {
	return r.do(ctx, "release lease", func(int) error { return r.API.ReleaseLease(ctx, app, id, nonce) })
}

func (r *retrying) Destroy(ctx context.Context, app string, in flygo.RemoveMachineInput, nonce string) error {
	return r.do(ctx, "destroy machine", func(attempt int) error {
		err := r.API.Destroy(ctx, app, in, nonce)
		if attempt > 1 && IsNotFound(err) {
			return nil
		}
		return err
	})
}

func (r *retrying) Launch(ctx context.Context, app string, in flygo.LaunchMachineInput) (*flygo.Machine, error) {
	if in.Name == "" {
		return r.API.Launch(ctx, app, in)
	}
	var out *flygo.Machine
	err := r.do(ctx, "launch machine", func(attempt int) error {
		if attempt > 1 {
			if ms, err := r.API.List(ctx, app, ""); err == nil {
				for _, m := range ms {
					if m.Name == in.Name {
						out = m
						return nil
					}
				}
			}
		}
		m, err := r.API.Launch(ctx, app, in)
		if err == nil {
			out = m
		}
		return err
	})
	return out, err
}
