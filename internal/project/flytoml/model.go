package flytoml

import (
	"time"

	"github.com/grupo-gad/deploy-action/internal/report"
)

// Value is one scalar of fly.toml with where it is written.
//
// Set reports whether the key is present with a value flyctl can use; a key
// of the wrong type is reported as a finding and left unset. Loc points at
// the key (its EndLine is the last line of the value). Values that flyctl
// derives rather than reads (the ports of [http_service]) are set and point
// at the section that implies them.
type Value[T any] struct {
	V   T
	Loc report.Location
	Set bool
}

// Or returns the value when it is set, and def otherwise.
func (v Value[T]) Or(def T) T {
	if v.Set {
		return v.V
	}
	return def
}

// Config is a fly.toml loaded into a typed model with source positions.
type Config struct {
	// Path is the file's path relative to the validated directory.
	Path string

	App            Value[string]
	PrimaryRegion  Value[string]
	KillSignal     Value[string]
	KillTimeout    Value[time.Duration] // an integer means seconds, as flyctl reads it
	SwapSizeMB     Value[int]
	ConsoleCommand Value[string]

	Build        *Build
	Deploy       *Deploy
	Experimental *Experimental

	// Env holds [env] (or the old [[env]] list, merged), every value as the
	// string flyctl passes to the machine. EnvKeys lists the names in file
	// order.
	Env     map[string]Value[string]
	EnvKeys []string

	// Processes holds [processes] (or the old [[processes]] list of
	// name/command pairs); ProcessKeys lists the names in file order.
	Processes   map[string]Value[string]
	ProcessKeys []string

	HTTPService *HTTPService
	// Services holds [[services]] (a single [services] table, or
	// [[services.ports]] written without any [[services]], counts as one).
	// Sections without any key are dropped, as flyctl drops them.
	Services []Service
	// Checks holds the top-level [checks.NAME] sections, in file order.
	Checks []Check
	// VMs holds [[vm]] sections; a [vm] table (or vm.size = ...) counts as one.
	VMs      []VM
	Mounts   []Mount
	Statics  []Static
	Metrics  []Metrics
	Restarts []Restart
	Files    []File

	pos *positions
}

// Build is the [build] section.
type Build struct {
	Dockerfile Value[string]
	Image      Value[string]
	// Target is build-target (or the old build_target): the Dockerfile
	// stage to build.
	Target     Value[string]
	Builder    Value[string]
	Builtin    Value[string]
	Ignorefile Value[string]
	Buildpacks []string
	// Args holds [build.args]; ArgKeys lists the names in file order.
	Args    map[string]Value[string]
	ArgKeys []string
	Loc     report.Location
}

// Deploy is the [deploy] section.
type Deploy struct {
	ReleaseCommand Value[string]
	Strategy       Value[string]
	// MaxUnavailable is a number of machines (>= 1) or a fraction (< 1).
	MaxUnavailable Value[float64]
	// WaitTimeout and ReleaseCommandTimeout follow flyctl: an integer is
	// read as nanoseconds (a warning is raised for it).
	WaitTimeout           Value[time.Duration]
	ReleaseCommandTimeout Value[time.Duration]
	ReleaseCommandVM      *VM
	SeedCommand           Value[string]
	Loc                   report.Location
}

// Experimental is the legacy [experimental] section, kept for what still
// changes a deploy.
type Experimental struct {
	Cmd          []string
	Entrypoint   []string
	Exec         []string
	AutoRollback Value[bool]
	Loc          report.Location
}

// HTTPService is the [http_service] section.
type HTTPService struct {
	InternalPort Value[int]
	ForceHTTPS   Value[bool]
	// AutoStopMachines is "off", "stop" or "suspend"; flyctl reads true as
	// "stop" and false as "off".
	AutoStopMachines   Value[string]
	AutoStartMachines  Value[bool]
	MinMachinesRunning Value[int]
	Processes          []string
	Concurrency        *Concurrency
	TLSOptions         *TLSOptions
	Checks             []Check
	Loc                report.Location
}

// Service is one [[services]] section, or the [http_service] seen as a
// service (FromHTTPService) by Config.AllServices.
type Service struct {
	Protocol           Value[string]
	InternalPort       Value[int]
	AutoStopMachines   Value[string]
	AutoStartMachines  Value[bool]
	MinMachinesRunning Value[int]
	Processes          []string
	Ports              []Port
	HTTPChecks         []Check
	TCPChecks          []Check
	Concurrency        *Concurrency
	// Index is the position in Config.Services, or -1 for the service
	// derived from [http_service].
	Index           int
	FromHTTPService bool
	Loc             report.Location
}

// Port is one [[services.ports]] entry.
type Port struct {
	Port       Value[int]
	StartPort  Value[int]
	EndPort    Value[int]
	Handlers   []string
	ForceHTTPS Value[bool]
	TLSOptions *TLSOptions
	Loc        report.Location
}

// Concurrency is a concurrency table of a service.
type Concurrency struct {
	Type      Value[string]
	HardLimit Value[int]
	SoftLimit Value[int]
	Loc       report.Location
}

// TLSOptions is a tls_options table.
type TLSOptions struct {
	ALPN              []string
	Versions          []string
	DefaultSelfSigned Value[bool]
	Loc               report.Location
}

// Check scopes: where a check is declared.
const (
	ScopeHTTPService = "http_service" // [[http_service.checks]]
	ScopeServices    = "services"     // [[services.http_checks]] / [[services.tcp_checks]]
	ScopeTopLevel    = "checks"       // [checks.NAME]
)

// Check is one health check, wherever it is declared.
type Check struct {
	// Type is "http" or "tcp" (for a top-level check, as written).
	Type Value[string]
	// Name is the NAME of a top-level [checks.NAME]; empty elsewhere.
	Name string
	// Port is the port of a top-level check; service checks use the
	// service's internal port, given in ServicePort.
	Port        Value[int]
	ServicePort Value[int]
	Path        Value[string]
	Method      Value[string]
	Protocol    Value[string]
	// Interval, Timeout and GracePeriod follow flyctl: an integer is read
	// as milliseconds in [[services.*_checks]] and [checks.NAME], and as
	// nanoseconds in [[http_service.checks]] (a warning is raised for it).
	Interval      Value[time.Duration]
	Timeout       Value[time.Duration]
	GracePeriod   Value[time.Duration]
	Headers       map[string]string
	TLSSkipVerify Value[bool]
	TLSServerName Value[string]
	Processes     []string
	// Scope says where the check is declared (ScopeHTTPService,
	// ScopeServices or ScopeTopLevel); ServiceIndex is the index in
	// Config.Services for ScopeServices, -1 otherwise.
	Scope        string
	ServiceIndex int
	// Where is a short human name of the check, e.g.
	// "[[http_service.checks]] #1" or "[checks.pg]".
	Where string
	// Loc is the check's table header (or the key that holds it).
	Loc report.Location
}

// VM is one [[vm]] section (or the release_command_vm of [deploy]).
type VM struct {
	Size Value[string]
	// Memory is in MB: memory_mb when given, else memory ("512mb", "1gb",
	// 1024, "1024") read the way flyctl reads it.
	Memory    Value[int]
	CPUs      Value[int]
	CPUKind   Value[string]
	GPUKind   Value[string]
	GPUs      Value[int]
	Processes []string
	Loc       report.Location
}

// Mount is one [[mounts]] (or [mounts], or the old [mount]) section.
type Mount struct {
	Source      Value[string]
	Destination Value[string]
	InitialSize Value[string]
	Processes   []string
	Loc         report.Location
}

// Static is one [[statics]] section.
type Static struct {
	GuestPath     Value[string]
	URLPrefix     Value[string]
	TigrisBucket  Value[string]
	IndexDocument Value[string]
	Loc           report.Location
}

// Metrics is one [[metrics]] (or [metrics]) section.
type Metrics struct {
	Port      Value[int]
	Path      Value[string]
	HTTPS     Value[bool]
	Processes []string
	Loc       report.Location
}

// Restart is one [[restart]] section.
type Restart struct {
	Policy    Value[string]
	Retries   Value[int]
	Processes []string
	Loc       report.Location
}

// File is one [[files]] section. Its raw_value is not kept.
type File struct {
	GuestPath  Value[string]
	LocalPath  Value[string]
	SecretName Value[string]
	Processes  []string
	Loc        report.Location
}
