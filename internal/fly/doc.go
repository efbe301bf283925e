// Package fly is deploy-action's door to Fly.io: the small set of Machines
// API calls the deploy engine makes (API), implemented by fly-go v0.2.2's
// flaps client (Client), a retrying wrapper for transient API failures
// (WithRetry) and the error helpers the other packages share.
//
// The deploy itself lives in the subpackages, one phase each:
//
//	fly/machineconf  fly.toml model → the machine config a deploy applies
//	fly/machinewait  waiting for a machine state (around Wait's 60 s cap), exit events
//	fly/lease        machine leases: bounded acquisition, refresh, release on every path
//	fly/release      the release_command machine: run, exit code, log tail
//	fly/logtail      the last log lines of a machine, with secrets masked
//	fly/deploy       the engine: snapshot, release, rolling/immediate update, restore, rollback
//	fly/secrets      the names of the app's secrets against the names the repo needs
//	fly/flyfake      an in-memory API for unit tests
//
// Nothing here needs Fly's GraphQL API: the engine deploys through the
// Machines API alone, and the logs endpoint is only read for diagnosis.
package fly
