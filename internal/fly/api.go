package fly

import (
	"context"
	"time"

	flygo "github.com/superfly/fly-go"
	"github.com/superfly/fly-go/flaps"
)

// Machines is the part of the Fly Machines API the deploy engine calls. Its
// methods have the signatures of fly-go's *flaps.Client, which implements it;
// tests use a fake (package flyfake) or the local emulator (flysim).
//
// List must be called with state "": flaps turns any other value into a
// malformed query string.
type Machines interface {
	GetApp(ctx context.Context, name string) (*flaps.App, error)
	List(ctx context.Context, app, state string) ([]*flygo.Machine, error)
	Get(ctx context.Context, app, machineID string) (*flygo.Machine, error)
	Launch(ctx context.Context, app string, input flygo.LaunchMachineInput) (*flygo.Machine, error)
	Update(ctx context.Context, app string, input flygo.LaunchMachineInput, nonce string) (*flygo.Machine, error)
	Wait(ctx context.Context, app string, m *flygo.Machine, state string, timeout time.Duration) error
	Start(ctx context.Context, app, machineID, nonce string) (*flygo.MachineStartResponse, error)
	Stop(ctx context.Context, app string, input flygo.StopMachineInput, nonce string) error
	Destroy(ctx context.Context, app string, input flygo.RemoveMachineInput, nonce string) error
	AcquireLease(ctx context.Context, app, machineID string, ttl *int) (*flygo.MachineLease, error)
	RefreshLease(ctx context.Context, app, machineID string, ttl *int, nonce string) (*flygo.MachineLease, error)
	ReleaseLease(ctx context.Context, app, machineID, nonce string) error
	FindLease(ctx context.Context, app, machineID string) (*flygo.MachineLease, error)
	SetMetadata(ctx context.Context, app, machineID, key, value string) error
	GetProcesses(ctx context.Context, app, machineID string) (flygo.MachinePsResponse, error)
	ListAppSecrets(ctx context.Context, app string, version *uint64, showSecrets bool) ([]flygo.AppSecret, error)
}

// Logs reads an app's recent log lines, as fly-go's *fly.Client does
// (GET {api}/api/v1/apps/{app}/logs). instanceID narrows them to one
// machine; token is the paging token of a previous call ("" for the first).
type Logs interface {
	GetAppLogs(ctx context.Context, app, token, region, instanceID string) ([]flygo.LogEntry, string, error)
}

// API is everything the engine uses: the Machines API and the logs.
type API interface {
	Machines
	Logs
}

var (
	_ Machines = (*flaps.Client)(nil)
	_ Logs     = (*flygo.Client)(nil)
	_ API      = (*Client)(nil)
)
